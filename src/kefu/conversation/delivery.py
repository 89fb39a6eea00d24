"""Delivering a turn's outcome: every step of the turn decides one `Outcome`; `deliver` streams it to the
customer, then records it, caches it and lets the session's next turn in, exactly once, whether the stream
ends, fails, is closed mid-reply or is never read at all."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from kefu.conversation.cache import AnswerCache, CachedAnswer
from kefu.conversation.policy import Suggestion
from kefu.conversation.types import Delivered, Reply, Retraction, Source, Turn
from kefu.engines.base import EngineError, StreamStats
from kefu.guard.service import ReplyFilter
from kefu.ops import metrics
from kefu.store.db import DatabaseDeadline
from kefu.store.repo import Store, TurnContext

log = logging.getLogger(__name__)

CacheKey = tuple[str, int, int, str]  # tenant, bot id, knowledge version, the (masked) question


class Clock:
    """The turn's start and its first token. TTFT is observed once: at the engine's first token for a
    generated reply (the output guard holds text back until a sentence ends, which is not the engine's
    speed), at the first delta for an answer kefu had at hand."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None

    def first_token(self) -> None:
        if self.first is None:
            self.first = time.perf_counter()
            metrics.TTFT.observe(self.first - self.started)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


@dataclass
class Opened:
    """Step 1's result, what every later step reads: the session, the masked message and its pending write."""

    turn: Turn
    ctx: TurnContext
    text: str  # the customer's message, personal data masked
    history: list[tuple[str, str]]
    recorded: Future[int]  # the customer message's write: no reply goes out before it is done
    release: Callable[[], None]  # lets the session's next turn in
    clock: Clock


@dataclass(frozen=True)
class Fallback:
    """The policy's next option for a generated reply that fails before any of it went out: its text, and
    the suggestions and session state that go with it."""

    text: str
    kind: str  # what the customer got instead: "faq" | "document" | "clarify" | "decline"
    suggestions: tuple[Suggestion, ...] = ()
    state: dict | None = None


@dataclass(frozen=True)
class Outcome:
    """What one step of the turn decided: the reply's text as a stream, and what goes with it."""

    deltas: AsyncIterator[str]
    answered_by: str
    sources: list[Source]
    confidence: float
    guarded: str | None = None  # "injection:<kind>" when the guard refused the message
    cache: CacheKey | None = None  # where a complete, undegraded answer is kept
    stand_in: Callable[[bool], str] | None = None  # what replaces a failed engine (arg: part of it was sent)
    stats: StreamStats | None = None  # filled in by the engine's stream
    check: ReplyFilter | None = None  # the output guard; its problems mark the reply
    suggestions: tuple[Suggestion, ...] = ()  # a clarification's FAQ questions, to pick from
    handed_off: bool = False  # a person takes over (or already has: the session is pending)
    handoff: str | None = None  # the reason, when this turn hands the session off
    state: dict | None = None  # the answer policy's memory for the session's next turn; None: unchanged
    fallback: Fallback | None = None  # a generated reply's stand-in, whose state holds if it stood in whole


async def text(value: str) -> AsyncIterator[str]:
    """A whole text as a stream of one delta."""
    yield value


async def timed(deltas: AsyncIterator[str], clock: Clock, first_token_s: float, total_s: float) -> AsyncIterator[str]:
    """The engine's own stream under its limits: the first token within `first_token_s`, the whole reply
    within `total_s` of it (checked as deltas arrive: a stall between deltas is bounded by the engine
    client's read timeout, far cheaper than a timer per delta). Timed before the output guard buffers
    sentences, so a slow reply without punctuation is not cut off while its tokens still arrive."""
    it = aiter(deltas)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(first_token_s):
            first = await anext(it, None)
        if first is None:
            return
        clock.first_token()
        deadline = loop.time() + total_s
        yield first
        async for delta in it:
            yield delta
            if loop.time() > deadline:
                raise TimeoutError("reply exceeded the engine's total timeout")
    finally:
        await aclose(it)


def deliver(store: Store, cache: AnswerCache, backend: str, opened: Opened, outcome: Outcome) -> Reply:
    """The Reply of `outcome`: its stream relays the deltas (on an engine failure, the outcome's stand-in
    follows), and when it ends, or is closed, or the Reply is dropped unread, the turn is recorded once."""
    run = _Delivery(store, cache, backend, opened, outcome)
    reply = Reply(
        opened.ctx.session_id, list(outcome.sources), outcome.confidence, run.stream(),
        handed_off=outcome.handed_off, answered_by=outcome.answered_by, on_drop=run.finish,
        guarded_in=outcome.guarded, suggestions=[s.public() for s in outcome.suggestions],
    )  # fmt: skip
    run.reply = weakref.ref(reply)  # weak: a dropped Reply must be collectable, for its safety net to run
    return reply


class _Delivery:
    def __init__(self, store: Store, cache: AnswerCache, backend: str, opened: Opened, outcome: Outcome) -> None:
        self.store, self.cache, self.backend = store, cache, backend
        self.opened, self.outcome = opened, outcome
        self.reply: weakref.ref[Reply] | None = None
        self.parts: list[str] = []
        self.failure: str | None = None  # the engine's error kind, or "timeout"
        self.ended = False  # the stream ran to its end (not closed by the customer leaving)
        self.written: Future[int] | None = None
        self.loop = asyncio.get_running_loop()

    async def stream(self) -> AsyncIterator[str]:
        it = aiter(self.outcome.deltas)
        recorded = self.opened.recorded
        try:
            try:
                first = await anext(it, None)
                await self.store.wait(recorded)
                if first is not None:
                    self.opened.clock.first_token()
                    self._keep(first)
                    yield first
                    async for delta in it:
                        self._keep(delta)
                        yield delta
            except (EngineError, TimeoutError) as e:
                self.failure = metrics.engine_error_kind(getattr(e, "kind", "timeout"))
                metrics.DEGRADED.labels(self.failure).inc()
                if not isinstance(e, EngineError):  # kefu's own limit passed; an engine counts its own errors
                    metrics.ENGINE_ERRORS.labels(metrics.backend_label(self.backend), "timeout").inc()
                log.warning(
                    "engine failed; degrading",
                    extra={"reason": self.failure, "error": str(e)[:300], "engine": self.backend,
                           "partial": bool(self.parts)},
                )  # fmt: skip
                stand_in = self.outcome.stand_in
                fallback = stand_in(bool(self.parts)) if stand_in is not None else ""
                self.parts.append(fallback)
                await self.store.wait(recorded)
                yield fallback
            self.ended = True
        finally:
            written = self.finish()
            await aclose(it)
        reply = self.reply() if self.reply is not None else None
        if reply is not None:
            try:
                reply.message_id = await self.store.wait(written)
            except DatabaseDeadline:  # the reply went out; its row is written when the database answers
                log.warning("reply sent, its write still pending", extra={"session_id": self.opened.ctx.session_id})

    def _keep(self, delta: str) -> None:
        """What the customer has now: a Retraction replaces all they were shown."""
        if isinstance(delta, Retraction):
            self.parts.clear()
            delta = str(delta)
        self.parts.append(delta)

    def finish(self) -> Future[int]:
        """Record the reply as it stands (what was sent), count it, cache it, let the session go on. Once."""
        if self.written is not None:
            return self.written
        o, opened = self.outcome, self.opened
        stats = o.stats or StreamStats()
        degraded = self.failure is not None
        guarded, finish_reason = o.guarded, "degraded" if degraded else stats.finish_reason
        state = o.state
        if o.check is not None and o.check.problems:
            guarded, finish_reason = "output:" + ",".join(sorted({p.kind for p in o.check.problems})), "content_filter"
        replaced = (degraded or finish_reason == "content_filter") and o.fallback is not None
        answered_by = o.answered_by
        if replaced and "".join(self.parts) == o.fallback.text:  # the stand-in is the whole reply
            state = o.fallback.state if o.fallback.state is not None else state
            answered_by = o.fallback.kind
            if (reply := self.reply() if self.reply is not None else None) is not None:
                reply.suggestions = [s.public() for s in o.fallback.suggestions]
                reply.answered_by = o.fallback.kind
        final = Delivered(
            "".join(self.parts), degraded, finish_reason, guarded, stats.prompt_tokens, stats.completion_tokens
        )
        if (reply := self.reply() if self.reply is not None else None) is not None:
            reply.final = final
        elapsed_ms = opened.clock.elapsed_ms()
        # Submitted, not awaited: recorded even if the customer went away, after the customer's message.
        self.written = self.store.submit(
            _after, opened.recorded, self.store.finish_turn, opened.turn.tenant, opened.ctx.session_id, final.text,
            latency_ms=elapsed_ms, engine=o.answered_by, prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens, degraded=degraded, sources=[s.id for s in o.sources],
            state=state, handoff=o.handoff,
        )  # fmt: skip
        self.written.add_done_callback(self._release)
        channel = metrics.channel_label(opened.turn.channel)
        metrics.TURNS.labels(channel, "degraded" if degraded else "ok").inc()
        metrics.TURN_SECONDS.labels(channel, metrics.turn_outcome(answered_by, degraded)).observe(elapsed_ms / 1000)
        cut = finish_reason in ("length", "content_filter")  # cut short or replaced: not an answer to keep
        complete = self.ended and not degraded and not cut and bool(final.text)
        if o.cache is not None and complete:
            self.cache.put(*o.cache, CachedAnswer(final.text, tuple(o.sources), o.confidence, o.answered_by))
        return self.written

    def _release(self, _: Future[int]) -> None:
        """The reply is written (on the store's thread): the session's next turn may read its history."""
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self.loop.call_soon_threadsafe(self.opened.release)


def _after(first: Future, fn: Callable[..., int], *args: Any, **kwargs: Any) -> int:
    first.result()
    return fn(*args, **kwargs)


async def aclose(it: AsyncIterator[str]) -> None:
    close = getattr(it, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):  # closing a broken engine stream must not hide the reply
            await close()
