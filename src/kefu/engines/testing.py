"""STAND-IN engine for fast unit tests: replies come from a queue, prompts are recorded.

It is not a model and nothing claims it is one; real-engine tests use a llama.cpp server.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

from kefu.engines.base import ChatMessage, Completion, SamplingParams, StreamStats


class QueueEngine:
    backend = "stand-in"

    def __init__(
        self,
        replies: list[str] | None = None,
        model: str = "stand-in",
        default_reply: str = "好的，这是测试回复。 / OK, this is a test reply.",
    ) -> None:
        self.model = model
        self.replies: deque[str | Exception] = deque(replies or [])
        self.default_reply = default_reply
        self.prompts: list[list[ChatMessage]] = []
        self.delay_s: float = 0.0  # before the first token
        self.token_delay_s: float = 0.0  # between two deltas (a slow engine)
        self.fail: Exception | None = None
        self.open_streams = 0  # streams started and not yet ended or closed

    def push(self, reply: str | Exception) -> None:
        self.replies.append(reply)

    def _next(self, messages: list[ChatMessage]) -> str:
        self.prompts.append(messages)
        if self.fail is not None:
            raise self.fail
        item = self.replies.popleft() if self.replies else self.default_reply
        if isinstance(item, Exception):
            raise item
        return item

    async def chat(self, messages: list[ChatMessage], params: SamplingParams) -> Completion:
        await asyncio.sleep(self.delay_s)
        text = self._next(messages)
        return Completion(
            text=text,
            model=self.model,
            prompt_tokens=sum(len(m.content) for m in messages),
            completion_tokens=len(text),
            finish_reason="stop",
        )

    async def stream(
        self, messages: list[ChatMessage], params: SamplingParams, stats: StreamStats | None = None
    ) -> AsyncIterator[str]:
        self.open_streams += 1
        try:
            await asyncio.sleep(self.delay_s)
            text = self._next(messages)
            for i in range(0, len(text), 2):
                yield text[i : i + 2]
                await asyncio.sleep(self.token_delay_s)
            if stats is not None:
                stats.completion_tokens = (len(text) + 1) // 2
                stats.finish_reason = "stop"
        finally:
            self.open_streams -= 1

    async def health(self) -> bool:
        return self.fail is None

    async def aclose(self) -> None:
        return None
