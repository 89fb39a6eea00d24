"""OpenAICompatEngine against a real `python -m llama_cpp.server` (SmolLM2-135M GGUF), and against a
closed port where nothing listens."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from kefu.engines.base import ChatMessage, EngineError, SamplingParams, StreamStats
from kefu.engines.openai_compat import OpenAICompatEngine
from tests.conftest import LlamaServer, free_port

pytestmark = pytest.mark.slow

PARAMS = SamplingParams(temperature=0.3, top_p=0.9, max_tokens=24)
MESSAGES = [
    ChatMessage("system", "You are a helpful customer-service assistant. Answer briefly."),
    ChatMessage("user", "Tell me a short joke about parcels."),
]


@pytest.fixture
async def engine(llama_server: LlamaServer) -> AsyncIterator[OpenAICompatEngine]:
    e = OpenAICompatEngine(llama_server.base_url, "smollm2", timeout_s=60)
    yield e
    await e.aclose()


@pytest.fixture
async def dead_engine() -> AsyncIterator[OpenAICompatEngine]:
    """Pointed at a free port with nothing listening: every call must fail fast."""
    e = OpenAICompatEngine(f"http://127.0.0.1:{free_port()}/v1", "smollm2", timeout_s=30)
    yield e
    await e.aclose()


async def test_chat_returns_text_and_usage(engine: OpenAICompatEngine) -> None:
    c = await engine.chat(MESSAGES, PARAMS)
    assert c.text.strip()
    assert c.model  # the server's model alias or ours
    assert c.prompt_tokens is not None and c.prompt_tokens > 10  # system + user message
    assert c.completion_tokens is not None and 0 < c.completion_tokens <= PARAMS.max_tokens
    assert c.finish_reason in ("stop", "length")


async def test_stream_yields_deltas_and_fills_stats(engine: OpenAICompatEngine) -> None:
    stats = StreamStats()
    deltas = [d async for d in engine.stream(MESSAGES, PARAMS, stats)]
    assert len(deltas) >= 3, deltas
    assert all(isinstance(d, str) and d for d in deltas)
    assert "".join(deltas).strip()
    assert stats.finish_reason in ("stop", "length")
    # llama_cpp.server ignores stream_options.include_usage; a server that sends usage must land in stats.
    if stats.completion_tokens is not None:
        assert 0 < stats.completion_tokens <= PARAMS.max_tokens
        assert stats.prompt_tokens is not None and stats.prompt_tokens > 0


async def test_stream_stops_at_max_tokens(engine: OpenAICompatEngine) -> None:
    stats = StreamStats()
    params = SamplingParams(max_tokens=4)
    deltas = [d async for d in engine.stream([ChatMessage("user", "Write a long story about a dog.")], params, stats)]
    assert 1 <= len(deltas) <= 4
    assert stats.finish_reason in ("stop", "length")


async def test_health_true(engine: OpenAICompatEngine) -> None:
    assert await engine.health() is True


async def test_server_killed_mid_stream_raises_engine_error(llama_server: LlamaServer) -> None:
    """The engine process dies while streaming: the broken transfer surfaces as EngineError (which the
    pipeline degrades on), not as the HTTP library's own exception type."""
    own = LlamaServer(llama_server.gguf).start()  # a server of this test's own, to kill
    engine = OpenAICompatEngine(own.base_url, "smollm2", timeout_s=60)
    got: list[str] = []
    try:
        with pytest.raises(EngineError) as ei:
            async for d in engine.stream(
                [ChatMessage("user", "Write a long story about a lost parcel.")], SamplingParams(max_tokens=400)
            ):
                got.append(d)
                if len(got) == 3:
                    own.stop()  # SIGKILL
    finally:
        own.stop()
        await engine.aclose()
    assert ei.value.kind in ("broken", "connection")
    assert 3 <= len(got) < 400


async def test_closed_port_chat_fails_fast(dead_engine: OpenAICompatEngine) -> None:
    t0 = time.perf_counter()
    with pytest.raises(EngineError) as ei:
        await dead_engine.chat(MESSAGES, PARAMS)
    assert ei.value.kind == "connection"
    assert time.perf_counter() - t0 < 3


async def test_closed_port_stream_fails_fast(dead_engine: OpenAICompatEngine) -> None:
    stats = StreamStats()
    t0 = time.perf_counter()
    got: list[str] = []
    with pytest.raises(EngineError) as ei:
        async for d in dead_engine.stream(MESSAGES, PARAMS, stats):
            got.append(d)
    assert ei.value.kind == "connection"
    assert got == [] and stats.finish_reason is None
    assert time.perf_counter() - t0 < 3


async def test_closed_port_health_false(dead_engine: OpenAICompatEngine) -> None:
    t0 = time.perf_counter()
    assert await dead_engine.health() is False
    assert time.perf_counter() - t0 < 3
