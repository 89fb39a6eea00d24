"""What goes into a turn and what comes out: every channel builds a Turn and renders a Reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


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


@dataclass
class Reply:
    """A reply in the making. Iterate `deltas` to stream it; the fields below the line are final
    once the stream has ended (or call `collect()`)."""

    session_id: str
    sources: list[Source]
    confidence: float
    deltas: AsyncIterator[str]
    handed_off: bool = False
    # "faq" (the FAQ fast path), "cache" (the answer cache), "guard" (an attack refused), else "<backend>:<model>".
    answered_by: str = ""
    # Set when the guard changed the reply: "injection:<kind>", or "output:<problem kinds>" (a generated reply
    # whose unsupported claim or wrong language was replaced).
    guarded: str | None = None
    # ---- final once the stream ends
    degraded: bool = False
    text: str = ""
    message_id: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    _first: asyncio.Future[str] | None = field(default=None, repr=False)

    def begin(self) -> None:
        """Start producing now (the engine request goes out), before the channel writes its own
        headers: the engine's time to first token then overlaps the channel's work."""
        if self._first is None:
            self._first = asyncio.ensure_future(self.deltas.__anext__())

    async def stream(self) -> AsyncIterator[str]:
        """The deltas, starting with the one `begin` fetched, if it was called."""
        first = self._first
        try:
            if first is not None:
                try:
                    yield await first
                except StopAsyncIteration:
                    return
            async for delta in self.deltas:
                yield delta
        finally:
            if first is not None and not first.done():
                first.cancel()  # the customer went away before the first token

    async def collect(self) -> Reply:
        async for _ in self.stream():
            pass
        return self

    def public(self) -> dict:
        return {
            "session_id": self.session_id,
            "message_id": self.message_id,
            "text": self.text,
            "sources": [s.public() for s in self.sources],
            "confidence": self.confidence,
            "handed_off": self.handed_off,
            "degraded": self.degraded,
            "answered_by": self.answered_by,
            "guarded": self.guarded,
        }
