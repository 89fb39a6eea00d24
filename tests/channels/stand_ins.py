"""Stand-ins for the channel tests: a slow stand-in engine that notes when its stream is closed, and a
fault injected into the pipeline's replies part-way through."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from kefu.conversation.pipeline import Pipeline
from kefu.conversation.types import Reply, Turn
from kefu.engines.base import ChatMessage, SamplingParams, StreamStats
from kefu.engines.testing import QueueEngine

SLOW_REPLY = "请稍等。" * 100  # 200 deltas of two characters, one sentence every two


class SlowEngine(QueueEngine):
    """The stand-in engine, one delta every `gap_s`; `closed` is set when its stream ends, however it ends."""

    def __init__(self, gap_s: float = 0.05) -> None:
        super().__init__(default_reply=SLOW_REPLY)
        self.gap_s = gap_s
        self.sent = 0
        self.closed = threading.Event()  # set on the server's thread, awaited on the test's

    async def stream(
        self, messages: list[ChatMessage], params: SamplingParams, stats: StreamStats | None = None
    ) -> AsyncIterator[str]:
        text = self._next(messages)
        self.closed.clear()
        try:
            for i in range(0, len(text), 2):
                yield text[i : i + 2]
                self.sent += 1
                await asyncio.sleep(self.gap_s)
        finally:
            self.closed.set()


class PipelineBug(RuntimeError):
    pass


def fail_midway(monkeypatch: pytest.MonkeyPatch, pipeline: Pipeline) -> None:
    """Every reply of `pipeline` raises an unexpected error (not an engine error) after its first delta."""
    answer = pipeline.answer

    async def failing(turn: Turn) -> Reply:
        reply = await answer(turn)
        inner = reply.deltas

        async def deltas() -> AsyncIterator[str]:
            try:
                async for delta in inner:
                    yield delta
                    raise PipelineBug("a bug after the first delta")
            finally:
                await inner.aclose()  # type: ignore[attr-defined]

        reply.deltas = deltas()
        return reply

    monkeypatch.setattr(pipeline, "answer", failing)
