"""The alert rules under promtool (syntax and unit tests), and a real Prometheus server scraping a running kefu:
the kefu target is up with its kefu_* series after a few turns, every dashboard query is valid PromQL there, and
KefuEngineDown fires once the engine (bench/'s OpenAI-compatible stand-in, a real HTTP server process) stops.

promtool and prometheus come with Debian's `prometheus` package (apt-get install prometheus)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kefu.app import create_app
from kefu.ops.settings import EngineSettings
from tests.conftest import ServerThread, free_port, make_settings, missing, until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "kefu-dashboard.json"
PROMETHEUS = "/usr/bin/prometheus"


def _tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        missing(f"{name} not installed: apt-get install prometheus")
    return path  # type: ignore[return-value]


def test_alert_rules_pass_promtool_check() -> None:
    r = subprocess.run(
        [_tool("promtool"), "check", "rules", str(DEPLOY / "alerts.yml")], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_example_scrape_config_passes_promtool_check() -> None:
    r = subprocess.run(
        [_tool("promtool"), "check", "config", str(DEPLOY / "prometheus.yml")], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_alert_fires_in_promtool_unit_tests() -> None:
    tests = yaml.safe_load((DEPLOY / "alerts_test.yml").read_text())
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    fired = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
    assert alerts == fired, f"alerts without a firing test: {sorted(alerts - fired)}"
    r = subprocess.run(
        [_tool("promtool"), "test", "rules", "alerts_test.yml"], cwd=DEPLOY, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr


# -- a real Prometheus server -----------------------------------------------------------------------------------


def _wait(what: str, probe: Callable[[], Any], timeout_s: float, every_s: float = 0.25) -> Any:
    """probe() until it returns something truthy; its value. Fails after timeout_s, naming `what`."""
    return until(probe, timeout_s, what, every_s, ignore=(httpx.HTTPError,))


@contextlib.contextmanager
def _process(args: list[str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@contextlib.contextmanager
def _standin_engine(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """bench/standin_engine.py as its own process (not a model): 8 tokens a reply, at once."""
    port = free_port()
    args = [sys.executable, "-m", "bench.standin_engine", "--port", str(port)]
    args += ["--first-token", "0", "--tokens", "8", "--rate", "500"]
    base = f"http://127.0.0.1:{port}/v1"
    with _process(args, tmp_path / "standin.log") as proc:
        _wait("the stand-in engine", lambda: httpx.get(f"{base}/models", timeout=1).status_code == 200, 20)
        yield proc, base


def _prometheus_config(tmp_path: Path, kefu_port: int) -> Path:
    """A 1 s scrape and evaluation, and the alert rules with every `for:` cut to 2 s."""
    rules = re.sub(r"(?m)^(\s*for:\s*)\S+", r"\g<1>2s", (DEPLOY / "alerts.yml").read_text())
    (tmp_path / "alerts.yml").write_text(rules)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": [str(tmp_path / "alerts.yml")],
        "scrape_configs": [{"job_name": "kefu", "static_configs": [{"targets": [f"127.0.0.1:{kefu_port}"]}]}],
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _query(prom: str, expr: str) -> list[dict]:
    r = httpx.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert r["status"] == "success", (expr, r)
    return r["data"]["result"]


def _firing(prom: str, name: str) -> list[dict]:
    alerts = httpx.get(f"{prom}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return [a for a in alerts if a["labels"]["alertname"] == name and a["state"] == "firing"]


def _dashboard_queries() -> list[str]:
    """Every query of the Grafana dashboard, its variables filled in as Grafana would ("All", a 1m interval)."""
    out = []
    stack = list(json.loads(DASHBOARD.read_text())["panels"])
    while stack:
        p = stack.pop()
        stack.extend(p.get("panels") or [])
        out.extend(t["expr"] for t in p.get("targets") or ())
    return [e.replace("$__rate_interval", "1m").replace("$job", ".*").replace("$instance", ".*") for e in out]


def test_real_prometheus_scrapes_kefu_and_fires_engine_down(tmp_path: Path) -> None:
    if not Path(PROMETHEUS).exists():
        missing("prometheus not installed: apt-get install prometheus")
    t0 = time.monotonic()
    with _standin_engine(tmp_path) as (engine_proc, engine_url):
        settings = make_settings(
            tmp_path,
            engine=EngineSettings(backend="openai", base_url=engine_url, model="standin", first_token_timeout_s=2.0,
                                  timeout_s=5.0),
            kb_embedder="none",  # keyword search: the knowledge indexes build in a moment
        )  # fmt: skip
        app = create_app(settings, configure_logs=False)
        with ServerThread(app) as kefu:
            _wait("kefu ready", lambda: httpx.get(f"{kefu.url}/readyz", timeout=5).status_code == 200, 30)
            for text in ("退款大概几天能到我账上", "你们周末发货吗", "Do you ship abroad?", "转人工"):
                assert httpx.post(f"{kefu.url}/api/chat", json={"text": text}, timeout=10).status_code == 200
            prom = f"http://127.0.0.1:{free_port()}"
            args = [
                PROMETHEUS, f"--config.file={_prometheus_config(tmp_path, kefu.port)}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address={prom.removeprefix('http://')}",
                "--log.level=warn",
            ]  # fmt: skip
            with _process(args, tmp_path / "prometheus.log") as proc:
                try:
                    _wait("Prometheus ready", lambda: httpx.get(f"{prom}/-/ready", timeout=1).status_code == 200, 30)

                    # (a) the target is up and kefu's series are there
                    def target_up() -> bool:
                        targets = httpx.get(f"{prom}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
                        return any(t["labels"]["job"] == "kefu" and t["health"] == "up" for t in targets)

                    _wait("the kefu target up", target_up, 20)
                    turns = _wait("kefu_turns_total scraped", lambda: _query(prom, "sum(kefu_turns_total)"), 10)
                    assert float(turns[0]["value"][1]) >= 4
                    names = {r["metric"]["__name__"] for r in _query(prom, '{__name__=~"kefu_.+"}')}
                    for name in (
                        "kefu_turn_seconds_bucket",
                        "kefu_time_to_first_token_seconds_bucket",
                        "kefu_http_responses_total",
                        "kefu_engine_request_seconds_bucket",
                        "kefu_policy_total",
                    ):
                        assert name in names, sorted(names)
                    _wait("kefu_engine_up 1", lambda: _query(prom, 'kefu_engine_up{backend="openai"} == 1'), 15)
                    for expr in _dashboard_queries():  # valid PromQL on a real server (an error fails _query)
                        _query(prom, expr)

                    # (b) the engine stops. With no turn and no /readyz, the scrapes alone notice it (a scrape starts
                    # an engine check at most every 5 s); kefu stays ready, degraded.
                    engine_proc.terminate()
                    engine_proc.wait(timeout=10)
                    stopped = time.monotonic()

                    # (other tests in this process may have left another backend's gauge down: this engine's alert)
                    def openai_down() -> list:
                        return [a for a in _firing(prom, "KefuEngineDown") if a["labels"].get("backend") == "openai"]

                    firing = _wait("KefuEngineDown firing", openai_down, 60, every_s=0.5)
                    assert firing[0]["labels"]["backend"] == "openai"
                    print(f"KefuEngineDown fired {time.monotonic() - stopped:.1f} s after the engine stopped")
                    ready = httpx.get(f"{kefu.url}/readyz", timeout=5)
                    assert ready.status_code == 200 and ready.json()["failed"] == ["engine"], ready.text
                    r = httpx.post(f"{kefu.url}/api/chat", json={"text": "你们有什么优惠活动"}, timeout=10).json()
                    assert r["text"]  # degraded or answered from the knowledge: the customer still gets a reply
                except BaseException:
                    print((tmp_path / "prometheus.log").read_text()[-3000:])
                    raise
                assert proc.poll() is None, "Prometheus exited early"
    assert time.monotonic() - t0 < 90
