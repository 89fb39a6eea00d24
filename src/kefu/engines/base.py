"""The engine interface: one small async surface that every LLM back-end implements.

`chat` returns a whole completion, `stream` yields text deltas, `health` says whether the engine
answers (embeddings are not an engine's job: the knowledge base has its own embedders). Errors of any
kind surface as `EngineError`, so the turn pipeline has one thing to catch when it degrades.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from kefu.ops import metrics

if TYPE_CHECKING:
    from prometheus_client import Gauge

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


class EngineMeter:
    """One back-end's metrics: each request's latency and result, its errors, whether it is up. The label
    children are made once (the `up` gauge's at its first news: an engine never checked has no series, rather
    than a 0 that would read as down), so a request costs two clock reads and one observation."""

    def __init__(self, backend: str) -> None:
        self.backend = metrics.backend_label(backend)
        self._seconds = {r: metrics.ENGINE_SECONDS.labels(self.backend, r) for r in ("ok", "error", "closed")}
        self._up: Gauge | None = None

    def request(self) -> _Metered:
        """`with meter.request():` around one request (a stream's whole body, inside the generator)."""
        return _Metered(self)

    def up(self, ok: bool) -> None:
        if self._up is None:
            self._up = metrics.ENGINE_UP.labels(self.backend)
        self._up.set(1 if ok else 0)

    def failed(self, kind: str) -> None:
        """An engine error, counted by its kind; one that could not reach the engine marks it down."""
        metrics.ENGINE_ERRORS.labels(self.backend, metrics.engine_error_kind(kind)).inc()
        if kind == "connection":
            self.up(False)


class _Metered:
    __slots__ = ("meter", "started")

    def __init__(self, meter: EngineMeter) -> None:
        self.meter = meter
        self.started = 0.0

    def __enter__(self) -> _Metered:
        self.started = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        elapsed = time.perf_counter() - self.started
        if kind is None:
            result = "ok"
            self.meter.up(True)
        elif issubclass(kind, (GeneratorExit, asyncio.CancelledError)):
            result = "closed"  # kefu stopped reading: not the engine's doing
        else:
            result = "error"
            self.meter.failed(exc.kind if isinstance(exc, EngineError) else "error")
        self.meter._seconds[result].observe(elapsed)


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
