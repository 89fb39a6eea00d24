"""kefu's Prometheus metrics: every label bounded under hostile requests, a turn timed once with its outcome,
engine requests metered per back-end (against the HTTP stand-in engine of bench/), HTTP responses by status
class, and the Grafana dashboard and alert rules reading only metrics kefu exports."""

from __future__ import annotations

import itertools
import json
import random
import re
import string
import sys
import time
import types
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from bench.standin_engine import make_app as standin_app
from kefu.app import create_app
from kefu.engines.base import ChatMessage, EngineError, SamplingParams
from kefu.engines.llamacpp import LlamaCppEngine
from kefu.engines.openai_compat import OpenAICompatEngine
from kefu.engines.testing import QueueEngine
from kefu.ops import metrics
from kefu.ops.settings import EngineSettings
from tests.conftest import ADMIN_HEADERS, best_of, free_port, make_settings

ROOT = Path(__file__).parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "kefu-dashboard.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
MESSAGES = [ChatMessage("user", "你好")]
PARAMS = SamplingParams(max_tokens=8)


def kefu_series() -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """Every kefu_* sample of the process's registry, as (name, labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items())))
        for family in REGISTRY.collect()
        for s in family.samples
        if s.name.startswith("kefu_")
    }


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def exported_names() -> set[str]:
    """The sample names kefu's metrics have: a counter's _total, a histogram's _bucket, _count and _sum."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("kefu_"):
            continue
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_count", "_sum"))
        else:
            names.add(family.name)
    return names


@pytest.fixture
def client(tmp_path: Path, demo_index: object) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path), engine=QueueEngine(), configure_logs=False)
    with TestClient(app, raise_server_exceptions=False, headers=ADMIN_HEADERS) as c:
        yield c


# -- bounded labels ---------------------------------------------------------------------------------------------


def _hostile_burst(c: TestClient, rng: random.Random, n: int, tokens: list[str]) -> None:
    """n rounds of requests with made-up tenants, channels, bot names, models, paths and request ids."""

    def tok() -> str:
        t = "hx" + "".join(rng.choices(string.ascii_lowercase, k=10))
        tokens.append(t)
        return t

    for _ in range(n):
        rid = {"X-Request-Id": tok()}
        c.post("/api/chat", json={"text": f"请问 {tok()} 怎么办", "channel": tok()}, headers=rid)  # a turn: "other"
        c.post("/api/chat/stream", json={"text": f"hello {tok()}", "channel": tok()})
        c.post("/api/chat", json={"text": "你好", "channel": tok()}, headers={"X-Tenant-Id": tok()})  # 404
        c.post("/api/chat", json={"text": "你好"}, headers={"X-Service-Type": tok()})  # unknown bot
        c.post("/v1/chat/completions", json={"model": tok(), "messages": [{"role": "user", "content": tok()}]})
        c.get(f"/{tok()}")  # 404
        c.request(rng.choice(["PUT", "PATCH", "DELETE"]), "/api/chat")  # 405
        c.post("/api/chat", content=b"{" + tok().encode(), headers={"Content-Type": "application/json"})  # 400
        c.post("/api/chat", json={"text": "x", "channel": "bad channel " + tok()})  # 422


def test_label_values_stay_bounded_under_hostile_requests(client: TestClient) -> None:
    rng = random.Random(20240601)
    tokens: list[str] = []
    _hostile_burst(client, rng, 10, tokens)
    first = kefu_series()
    _hostile_burst(client, rng, 40, tokens)  # four times as many made-up values
    second = kefu_series()
    grown = second - first
    # Nothing made up became a label value...
    made_up = set(tokens)
    leaked = [(n, labels) for n, labels in second if any(v in made_up or "hx" in v for _, v in labels)]
    assert not leaked, leaked[:5]
    # ...and the number of series does not grow with the number of requests (a rare new code path may add one).
    assert len(grown) <= 5, sorted(grown)[:20]
    assert len(second) < 5000, len(second)
    allowed = {
        "channel": metrics.CHANNELS | {"other"},
        "backend": metrics.BACKENDS | {"other"},
        "status_class": {"1xx", "2xx", "3xx", "4xx", "5xx"},
    }
    for name, labels in second:
        for key, value in labels:
            if key in allowed:
                assert value in allowed[key], (name, key, value)
            if name.startswith("kefu_turn_seconds") and key == "outcome":
                assert value in metrics.OUTCOMES | {"other"}, value
            if name.startswith("kefu_engine_errors") and key == "kind":
                assert metrics.engine_error_kind(value) == value, value


def test_label_helpers() -> None:
    assert metrics.channel_label("wechat") == "wechat" and metrics.channel_label("anything") == "other"
    assert metrics.backend_label("ollama") == "ollama" and metrics.backend_label("stand-in") == "other"
    assert metrics.engine_error_kind("http_503") == "http_503"
    assert metrics.engine_error_kind("http_5031") == "other" and metrics.engine_error_kind("http_abc") == "other"
    assert metrics.engine_error_kind("connection") == "connection" and metrics.engine_error_kind("x" * 50) == "other"
    assert metrics.turn_outcome("openai:qwen", False) == "generated"
    assert metrics.turn_outcome("openai:qwen", True) == "degraded"
    assert metrics.turn_outcome("faq", False) == "faq" and metrics.turn_outcome("whatever", False) == "other"


def test_latency_buckets_fit_a_p99_between_50_ms_and_5_s() -> None:
    for name in ("kefu_time_to_first_token_seconds_bucket", "kefu_turn_seconds_bucket"):
        metrics.TURN_SECONDS.labels("web", "faq")  # the labelled histogram's buckets exist once a child does
        bounds = sorted({float(s.labels["le"]) for f in REGISTRY.collect() for s in f.samples if s.name == name})
        assert bounds == [*metrics.LATENCY_BUCKETS, float("inf")], (name, bounds)
    edges = metrics.LATENCY_BUCKETS
    # between 0.05 s and 5 s each bucket ends at most at twice its lower edge: a p99 is read within a factor of 2
    for lo, hi in itertools.pairwise(edges):
        if 0.05 <= lo < 5:
            assert hi / lo <= 2, (lo, hi)


def test_the_per_turn_metrics_cost_microseconds() -> None:
    """What delivery does per turn: a counter and a histogram through their bounded labels."""
    channel = metrics.channel_label("web")

    def measure() -> float:
        n = 20_000
        t0 = time.perf_counter()
        for _ in range(n):
            metrics.TURNS.labels(channel, "ok").inc()
            metrics.TURN_SECONDS.labels(channel, metrics.turn_outcome("faq", False)).observe(0.02)
        return (time.perf_counter() - t0) / n

    per_turn = best_of(measure, 20e-6)
    assert per_turn < 20e-6, f"{per_turn * 1e6:.1f} µs per turn"


# -- the turn ---------------------------------------------------------------------------------------------------


def test_each_turn_is_timed_once_with_its_channel_and_outcome(tmp_path: Path, demo_index: object) -> None:
    engine = QueueEngine()
    settings = make_settings(
        tmp_path,
        engine=EngineSettings(
            backend="openai", base_url="http://127.0.0.1:9/v1", model="stand-in", first_token_timeout_s=0.3,
            timeout_s=5.0,
        ),
    )  # fmt: skip
    app = create_app(settings, engine=engine, configure_logs=False)
    with TestClient(app, headers=ADMIN_HEADERS) as c:

        def turns(channel: str, outcome: str) -> float:
            return sample("kefu_turn_seconds_count", channel=channel, outcome=outcome)

        faq, gen, deg = turns("web", "faq"), turns("wechat", "generated"), turns("other", "degraded")
        ttft = sample("kefu_time_to_first_token_seconds_count")
        r = c.post("/api/chat", json={"text": "退款大概几天能到我账上"}).json()
        assert r["answered_by"] == "faq"
        assert turns("web", "faq") == faq + 1 and sample("kefu_time_to_first_token_seconds_count") == ttft + 1

        r = c.post("/api/chat", json={"text": "你们的猫叫什么名字", "channel": "wechat"}).json()
        assert r["answered_by"] == "stand-in:stand-in", r
        assert turns("wechat", "generated") == gen + 1

        # an engine error: the engine counts its own errors (a stand-in has no meter); the turn is degraded
        errors = sample("kefu_engine_errors_total", backend="other", kind="connection")
        connection = sample("kefu_degraded_total", reason="connection")
        engine.push(EngineError("refused", kind="connection"))
        r = c.post("/api/chat", json={"text": "你们的狗叫什么名字", "channel": "made-up"}).json()
        assert r["degraded"] is True
        assert turns("other", "degraded") == deg + 1
        assert sample("kefu_degraded_total", reason="connection") == connection + 1
        assert sample("kefu_engine_errors_total", backend="other", kind="connection") == errors

        # kefu's own first-token limit passed: counted as the engine's timeout, by kefu
        timeouts = sample("kefu_engine_errors_total", backend="other", kind="timeout")
        engine.delay_s = 1.0
        r = c.post("/api/chat", json={"text": "你们的鱼叫什么名字"}).json()
        assert r["degraded"] is True
        assert sample("kefu_engine_errors_total", backend="other", kind="timeout") == timeouts + 1
        assert turns("web", "degraded") >= 1


def test_http_responses_are_counted_by_status_class(client: TestClient) -> None:
    ok, client_err = (
        sample("kefu_http_responses_total", status_class="2xx"),
        sample("kefu_http_responses_total", status_class="4xx"),
    )
    client.get("/healthz")
    client.get("/no-such-page")
    # too large by its Content-Length: answered by the middleware itself, before any route
    client.post("/api/chat", content=b"x" * 10, headers={"Content-Length": str(10**9)})
    assert sample("kefu_http_responses_total", status_class="2xx") == ok + 1
    assert sample("kefu_http_responses_total", status_class="4xx") == client_err + 2


# -- engines ----------------------------------------------------------------------------------------------------


@pytest.fixture
async def standin() -> AsyncIterator[str]:
    """bench/'s OpenAI-compatible stand-in engine (not a model), fast: 6 tokens at 1000/s."""
    runner = web.AppRunner(standin_app(first_token=0.0, n_tokens=6, rate=1000.0))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


async def test_openai_engine_requests_are_metered(standin: str) -> None:
    engine = OpenAICompatEngine(standin, "standin", timeout_s=5)
    try:
        ok, closed = (sample("kefu_engine_request_seconds_count", backend="openai", result=r) for r in ("ok", "closed"))
        text = "".join([d async for d in engine.stream(MESSAGES, PARAMS)])
        assert text
        assert sample("kefu_engine_request_seconds_count", backend="openai", result="ok") == ok + 1
        assert sample("kefu_engine_up", backend="openai") == 1
        stream = engine.stream(MESSAGES, PARAMS)
        await anext(stream)
        await stream.aclose()  # the customer left: closed, not an error
        assert sample("kefu_engine_request_seconds_count", backend="openai", result="closed") == closed + 1
        assert (await engine.chat(MESSAGES, PARAMS)).text
        assert sample("kefu_engine_request_seconds_count", backend="openai", result="ok") == ok + 2
    finally:
        await engine.aclose()


async def test_an_unreachable_engine_counts_errors_and_is_down() -> None:
    engine = OpenAICompatEngine(f"http://127.0.0.1:{free_port()}/v1", "standin", timeout_s=5)
    try:
        errors = sample("kefu_engine_errors_total", backend="openai", kind="connection")
        failed = sample("kefu_engine_request_seconds_count", backend="openai", result="error")
        for call in (lambda: anext(engine.stream(MESSAGES, PARAMS)), lambda: engine.chat(MESSAGES, PARAMS)):
            with pytest.raises(EngineError) as e:
                await call()
            assert e.value.kind == "connection"
        assert sample("kefu_engine_errors_total", backend="openai", kind="connection") == errors + 2
        assert sample("kefu_engine_request_seconds_count", backend="openai", result="error") == failed + 2
        assert sample("kefu_engine_up", backend="openai") == 0
    finally:
        await engine.aclose()


async def test_llamacpp_load_time_and_a_health_check_that_does_not_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake llama_cpp.Llama (the real model has its own tests): the load time lands in the gauge, and a loaded
    engine's health does not wait behind a reply being generated on its one thread."""

    class FakeLlama:
        def __init__(self, **kwargs: object) -> None:
            time.sleep(0.05)

    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=FakeLlama))
    engine = LlamaCppEngine("fake", model_path="/nonexistent.gguf")
    try:
        assert await engine.health() is True  # loads
        assert sample("kefu_model_load_seconds", backend="llamacpp") >= 0.05
        engine._pool.submit(time.sleep, 1.0)  # a long generation holds the model's thread
        t0 = time.perf_counter()
        assert await engine.health() is True
        assert time.perf_counter() - t0 < 0.2
    finally:
        await engine.aclose()


# -- the dashboard and the alert rules ----------------------------------------------------------------------------

METRIC = re.compile(r"\bkefu_[a-z_]+")


def _panels(items: list[dict]) -> Iterator[dict]:
    for p in items:
        yield p
        yield from _panels(p.get("panels") or [])  # a collapsed row holds its panels


def test_grafana_dashboard_reads_only_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["schemaVersion"] >= 36 and dashboard["title"] and dashboard["uid"]
    panels = list(_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    exprs = [v["definition"] for v in dashboard["templating"]["list"] if v.get("definition")]
    for p in panels:
        assert {"h", "w", "x", "y"} <= p["gridPos"].keys(), p["title"]
        if p["type"] == "row":
            continue
        assert p["targets"], f"panel {p['title']!r} has no query"
        for t in p["targets"]:
            assert t["expr"].strip() and t["refId"], p["title"]
            exprs.append(t["expr"])
    used = {m for e in exprs for m in METRIC.findall(e)}
    exported = exported_names()
    assert used <= exported, sorted(used - exported)
    for wanted in (
        "kefu_turns_total", "kefu_turn_seconds_bucket", "kefu_time_to_first_token_seconds_bucket",
        "kefu_engine_errors_total", "kefu_faq_fast_path_total", "kefu_policy_total", "kefu_handoffs_total",
        "kefu_guard_total", "kefu_outbox_pending", "kefu_outbox_oldest_age_seconds",
    ):  # fmt: skip
        assert wanted in used, f"the dashboard has no panel on {wanted}"


def test_alert_rules_read_only_exported_metrics() -> None:
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    used = {m for r in rules for m in METRIC.findall(r["expr"])}
    assert used and used <= exported_names(), sorted(used - exported_names())
