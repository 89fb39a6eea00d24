"""OllamaEngine (the official `ollama` client) against a STAND-IN Ollama server.

No Ollama binary can be installed here, so `OllamaStandIn` below is a small aiohttp app that replays
Ollama's documented wire format (docs/api.md of ollama/ollama): POST /api/chat as NDJSON when
streaming or one JSON object when not, GET /api/tags, and `{"error": ...}` bodies
for failures. It is NOT Ollama and generates nothing: the replies are canned. It records every
request body so the tests can check what kefu sent. The model name picks a misbehaviour:

  qwen2.5:7b       normal replies
  missing          404 {"error": "model 'missing' not found"}, as Ollama answers for an unpulled model
  drop / drop-mid  a few NDJSON lines, then the connection is cut (between lines / inside a line)
  no-done          a few NDJSON lines, then the response ends cleanly without the final done object
  error-mid        a few NDJSON lines, then {"error": ...}, as Ollama reports a runner crash mid-stream
  garbage          200 with an HTML body (a misconfigured proxy in front of Ollama)
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from kefu.engines.base import ChatMessage, EngineError, SamplingParams, StreamStats
from kefu.engines.ollama_native import OllamaEngine
from tests.conftest import free_port

MODEL = "qwen2.5:7b"
CREATED = "2024-07-22T20:33:28.123648Z"
TOKENS = ["您", "好", "，", "请问", "有什么", "可以", "帮您", "？"]
REPLY = "".join(TOKENS)
PARAMS = SamplingParams(temperature=0.2, top_p=0.8, max_tokens=64)
MESSAGES = [ChatMessage("system", "你是网店客服。"), ChatMessage("user", "你好")]


def _part(model: str, content: str) -> dict:
    return {"model": model, "created_at": CREATED, "message": {"role": "assistant", "content": content}, "done": False}


def _final(model: str, content: str = "") -> dict:
    return {
        "model": model,
        "created_at": CREATED,
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": "stop",
        "total_duration": 4_883_583_458,
        "load_duration": 1_334_875,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 342_546_000,
        "eval_count": len(TOKENS),
        "eval_duration": 4_535_599_000,
    }


def _line(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


class OllamaStandIn:
    """STAND-IN for an Ollama server (see the module docstring), run in the test's event loop."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.port = free_port()
        self.app = web.Application()
        self.app.router.add_post("/api/chat", self.chat)
        self.app.router.add_get("/api/tags", self.tags)
        self.runner = web.AppRunner(self.app, handle_signals=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> OllamaStandIn:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(("/api/chat", body))
        model = body["model"]
        if model == "missing":
            return web.json_response({"error": f"model '{model}' not found"}, status=404)
        if model == "garbage":
            return web.Response(text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        if not body.get("stream", True):
            return web.json_response(_final(model, REPLY))
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        head = TOKENS if model == MODEL else TOKENS[:3]
        for tok in head:
            await resp.write(_line(_part(model, tok)))
        if model == "drop-mid":
            await resp.write(_line(_part(model, "半"))[:25])
        if model in ("drop", "drop-mid"):
            assert request.transport is not None
            request.transport.abort()  # cut the connection: no terminating chunk
            return resp
        if model == "error-mid":
            await resp.write(_line({"error": "llama runner process has terminated: signal: killed"}))
        elif model == MODEL:
            await resp.write(_line(_final(model)))
        await resp.write_eof()
        return resp

    async def tags(self, request: web.Request) -> web.Response:
        self.requests.append(("/api/tags", {}))
        return web.json_response(
            {
                "models": [
                    {
                        "name": MODEL,
                        "model": MODEL,
                        "modified_at": "2024-09-20T10:00:00.000000+08:00",
                        "size": 4_683_087_332,
                        "digest": "845dbda0ea48ed749caafd9e6037047aa19acfcfd82e704d7ca97d631a0b697e",
                        "details": {
                            "parent_model": "",
                            "format": "gguf",
                            "family": "qwen2",
                            "families": ["qwen2"],
                            "parameter_size": "7.6B",
                            "quantization_level": "Q4_K_M",
                        },
                    }
                ]
            }
        )


@pytest.fixture
async def ollama_standin() -> AsyncIterator[OllamaStandIn]:
    srv = await OllamaStandIn().start()
    yield srv
    await srv.stop()


@pytest.fixture
async def make_engine(ollama_standin: OllamaStandIn) -> AsyncIterator:
    engines: list[OllamaEngine] = []

    def make(model: str = MODEL, url: str | None = None) -> OllamaEngine:
        e = OllamaEngine(url or ollama_standin.url, model, context_window=3072, timeout_s=10)
        engines.append(e)
        return e

    yield make
    for e in engines:
        await e.aclose()


def _check_sent(body: dict, stream: bool) -> None:
    assert body["model"] == MODEL
    assert body["stream"] is stream
    assert body["messages"] == [{"role": "system", "content": "你是网店客服。"}, {"role": "user", "content": "你好"}]
    assert body["options"] == {"temperature": 0.2, "top_p": 0.8, "num_predict": 64, "num_ctx": 3072}


async def test_chat_non_streamed(ollama_standin: OllamaStandIn, make_engine) -> None:
    c = await make_engine().chat(MESSAGES, PARAMS)
    assert c.text == REPLY
    assert c.model == MODEL
    assert (c.prompt_tokens, c.completion_tokens, c.finish_reason) == (26, len(TOKENS), "stop")
    [(path, body)] = ollama_standin.requests
    assert path == "/api/chat"
    _check_sent(body, stream=False)


async def test_stream_yields_deltas_and_fills_stats(ollama_standin: OllamaStandIn, make_engine) -> None:
    stats = StreamStats()
    deltas = [d async for d in make_engine().stream(MESSAGES, PARAMS, stats)]
    assert deltas == TOKENS
    assert (stats.prompt_tokens, stats.completion_tokens, stats.finish_reason) == (26, len(TOKENS), "stop")
    [(_, body)] = ollama_standin.requests
    _check_sent(body, stream=True)


async def test_health(ollama_standin: OllamaStandIn, make_engine) -> None:
    assert await make_engine().health() is True


async def test_unknown_model_is_http_404(make_engine) -> None:
    engine = make_engine("missing")
    with pytest.raises(EngineError) as ei:
        await engine.chat(MESSAGES, PARAMS)
    assert ei.value.kind == "http_404" and "not found" in str(ei.value)
    with pytest.raises(EngineError) as ei:
        async for _ in engine.stream(MESSAGES, PARAMS):
            pass
    assert ei.value.kind == "http_404" and "not found" in str(ei.value)


@pytest.mark.parametrize(
    ("model", "kind"),
    [("drop", "connection"), ("drop-mid", "connection"), ("no-done", "broken"), ("error-mid", "stream_error")],
)
async def test_stream_broken_midway_raises_engine_error(make_engine, model: str, kind: str) -> None:
    stats = StreamStats()
    got: list[str] = []
    with pytest.raises(EngineError) as ei:
        async for d in make_engine(model).stream(MESSAGES, PARAMS, stats):
            got.append(d)
    assert got == TOKENS[:3]  # what came before the break was relayed
    assert stats.finish_reason is None
    assert ei.value.kind == kind


async def test_non_json_reply_raises_engine_error(make_engine) -> None:
    with pytest.raises(EngineError) as ei:
        await make_engine("garbage").chat(MESSAGES, PARAMS)
    assert ei.value.kind == "bad_response"


async def test_closed_port(make_engine) -> None:
    engine = make_engine(url=f"http://127.0.0.1:{free_port()}")
    t0 = time.perf_counter()
    with pytest.raises(EngineError) as ei:
        await engine.chat(MESSAGES, PARAMS)
    assert ei.value.kind == "connection"
    with pytest.raises(EngineError) as ei:
        async for _ in engine.stream(MESSAGES, PARAMS):
            pass
    assert ei.value.kind == "connection"
    assert await engine.health() is False
    assert time.perf_counter() - t0 < 3
