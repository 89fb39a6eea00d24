"""What goes into a turn and what comes out: every channel builds a Turn and renders a Reply."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from kefu.guard.service import Retraction

__all__ = ["Delivered", "Reply", "Retraction", "Source", "Turn"]


@dataclass(frozen=True)
class Turn:
    tenant: str
    channel: str
    customer: str | None
    session: str | None
    text: str
    service_type: str = "default"
    # Prior messages the client sent itself (OpenAI-style clients); used when the session is new.
    client_history: tuple[tuple[str, str], ...] = ()
    # Whether the channel can withdraw text it showed (a `Retraction` in the reply's stream): then a generated
    # reply streams before each sentence is checked (the output guard's "early" release).
    retractable: bool = True


@dataclass(frozen=True)
class Source:
    """A citation: an FAQ entry (`kind` "faq", id = its key) or a document chunk (`kind` "chunk", with its
    document, section and position in the document)."""

    id: str
    title: str
    snippet: str
    score: float
    kind: str = "faq"
    document: str = ""
    section: str = ""
    position: int = 0

    def public(self) -> dict:
        out = {"id": self.id, "kind": self.kind, "title": self.title, "snippet": self.snippet, "score": self.score}
        if self.kind == "chunk":
            out |= {"document": self.document, "section": self.section, "position": self.position}
        return out


@dataclass(frozen=True)
class Delivered:
    """What the customer got, known once the reply's stream has ended (or was closed)."""

    text: str
    degraded: bool = False
    finish_reason: str | None = None  # the engine's ("stop", "length"), "content_filter" or "degraded"
    # "injection:<kind>" (an attack refused) or "output:<problem kinds>" (a generated reply whose unsupported
    # claim or wrong language was replaced)
    guarded: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(eq=False)
class Reply:
    """A reply in the making. The fields are known when `Pipeline.answer` returns; iterate `stream()` (or
    `deltas`) to send the text; `final` and the properties below it are set once, when the stream ends.
    A channel that may stop before the end calls `aclose()` in a `finally`: the turn is recorded and the
    session's next turn let in either way (and, as a safety net, when the Reply is dropped)."""

    session_id: str
    sources: list[Source]
    confidence: float
    # the text as it is written; a `Retraction` (a str) replaces everything before it (the channel shows it
    # in place of what it showed so far)
    deltas: AsyncIterator[str]
    handed_off: bool = False
    # "faq" (an FAQ entry's answer), "document" (a document's sentences quoted), "clarify" (FAQ questions offered
    # in `suggestions`), "decline" (not in the knowledge base), "handoff" (a person takes over), "cache" (the
    # answer cache), "guard" (an attack refused), else "<backend>:<model>" (the engine wrote it).
    answered_by: str = ""
    suggestions: list[dict] = field(default_factory=list)  # [{"id": FAQ key, "question": ...}], to pick from
    final: Delivered | None = None
    message_id: int | None = None  # the reply's row, once it is written
    # called when the reply is closed or dropped before its stream began: records the turn as it stands
    on_drop: Callable[[], None] | None = field(default=None, repr=False)
    guarded_in: str | None = field(default=None, repr=False)  # the guard's verdict known before the stream
    _first: asyncio.Task[str] | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return self.final.text if self.final else ""

    @property
    def degraded(self) -> bool:
        return self.final.degraded if self.final else False

    @property
    def guarded(self) -> str | None:
        return self.final.guarded if self.final else self.guarded_in

    @property
    def finish_reason(self) -> str | None:
        return self.final.finish_reason if self.final else None

    @property
    def prompt_tokens(self) -> int | None:
        return self.final.prompt_tokens if self.final else None

    @property
    def completion_tokens(self) -> int | None:
        return self.final.completion_tokens if self.final else None

    def begin(self) -> None:
        """Start producing now (the engine request goes out), before the channel writes its own
        headers: the engine's time to first token then overlaps the channel's work."""
        if self._first is None:
            self._first = asyncio.ensure_future(anext(self.deltas))

    async def stream(self) -> AsyncIterator[str]:
        """The deltas, starting with the one `begin` fetched, if it was called."""
        try:
            if self._first is not None:
                try:
                    yield await self._first
                except StopAsyncIteration:
                    return
            async for delta in self.deltas:
                yield delta
        finally:
            await self.aclose()

    async def collect(self) -> Reply:
        async for _ in self.stream():
            pass
        return self

    async def aclose(self) -> None:
        """Stop producing (a pending first token is cancelled, the engine stream closed) and record the turn
        as it stands. Safe to call more than once, and after the stream ended."""
        first = self._first
        if first is not None and not first.done():
            first.cancel()
            await asyncio.wait([first])
        close = getattr(self.deltas, "aclose", None)
        if close is not None:
            with contextlib.suppress(RuntimeError):  # already running in another task: it ends there
                await close()
        self._dropped()

    def _dropped(self) -> None:
        first = self._first
        if first is not None and first.done() and not first.cancelled():
            first.exception()  # retrieved: a first token nobody read is no "exception never retrieved"
        if self.on_drop is not None:
            on_drop, self.on_drop = self.on_drop, None
            on_drop()

    def __del__(self) -> None:
        # The safety net: a Reply dropped unread (the client left before the body was read) cancels its
        # first token and records the turn; a started stream is closed by the event loop's generator finaliser.
        with contextlib.suppress(RuntimeError):  # the event loop is already closed: nothing left to stop
            first = self._first
            if first is not None and not first.done():
                first.cancel()
            self._dropped()

    def public(self) -> dict:
        return {
            "session_id": self.session_id,
            "message_id": self.message_id,
            "text": self.text,
            "sources": [s.public() for s in self.sources],
            "confidence": self.confidence,
            "suggestions": self.suggestions,
            "handed_off": self.handed_off,
            "degraded": self.degraded,
            "answered_by": self.answered_by,
            "guarded": self.guarded,
        }
