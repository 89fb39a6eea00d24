"""The engine interface: one small async surface that every LLM back-end implements.

`chat` returns a whole completion, `stream` yields text deltas, `health` says whether the engine
answers (embeddings are not an engine's job: the knowledge base has its own embedders). Errors of any
kind surface as `EngineError`, so the turn pipeline has one thing to catch when it degrades.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.3
    top_p: float = 0.9
    max_tokens: int = 256


@dataclass
class Completion:
    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None


@dataclass
class StreamStats:
    """Filled in by `stream` as it goes; read it after the stream ends."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    extra: dict = field(default_factory=dict)


class EngineError(Exception):
    """The engine is down, failed, or passed its timeout. `kind` is a short label for metrics."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


@runtime_checkable
class Engine(Protocol):
    backend: str
    model: str

    async def chat(self, messages: list[ChatMessage], params: SamplingParams) -> Completion: ...

    def stream(
        self, messages: list[ChatMessage], params: SamplingParams, stats: StreamStats | None = None
    ) -> AsyncIterator[str]: ...

    async def health(self) -> bool: ...

    async def aclose(self) -> None: ...
