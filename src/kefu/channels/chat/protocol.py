"""Wire types of kefu's own chat API (docs/api.md): the request, the JSON reply, and every event of the SSE
stream and frame of the WebSocket. The stream is encoded with orjson for speed; these models are its schema,
and the tests parse what kefu sends into them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from kefu.http.errors import ErrorBody
from kefu.http.validators import ID_PATTERN, TEXT_SCHEMA


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # The schema states what a message must be (not blank, no NUL, at most max_message_chars: 4000 unless the
    # operator changed it); the checks themselves run in check_text, so that each failure has its own code.
    text: str = Field(max_length=1_000_000, json_schema_extra=TEXT_SCHEMA)
    session_id: str | None = Field(default=None, pattern=ID_PATTERN)
    customer_id: str | None = Field(default=None, pattern=ID_PATTERN)
    channel: str = Field(default="web", pattern=r"^[A-Za-z0-9_.:@-]{1,32}$")


class SourcePublic(BaseModel):
    """A citation: an FAQ entry (kind "faq") or a document chunk (kind "chunk", with its document, section
    and position in the document)."""

    id: str
    kind: Literal["faq", "chunk"] = "faq"
    title: str
    snippet: str
    score: float
    document: str | None = None
    section: str | None = None
    position: int | None = None


class SuggestionPublic(BaseModel):
    """One FAQ question a clarification offers: send `question` (or its number) as the next message."""

    id: str
    question: str


class ChatResponse(BaseModel):
    session_id: str
    message_id: int | None
    text: str
    sources: list[SourcePublic]
    # the calibrated probability that the reply is right (conversation/confidence.py)
    confidence: float
    # answered_by "clarify": the FAQ questions offered, best first; the text lists them as numbered lines too
    suggestions: list[SuggestionPublic] = []
    # a person takes over: the session is "pending" and the bot no longer answers on its own
    handed_off: bool
    degraded: bool
    answered_by: str
    guarded: str | None = None


class StreamMeta(BaseModel):
    """The first event of a reply: its session and citations, before any text."""

    model_config = ConfigDict(extra="forbid")
    session_id: str
    sources: list[SourcePublic]


class StreamDelta(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


class StreamReplace(BaseModel):
    """The reply shown so far failed the output check: show this text in its place (the policy's next option:
    the FAQ answer, a clarification or the honest decline). More deltas may follow it."""

    model_config = ConfigDict(extra="forbid")
    text: str


# SSE (`POST /api/chat/stream`): `event: meta` StreamMeta, `event: delta` StreamDelta... (an `event: replace`
# StreamReplace among them replaces the text so far), then `event: done` ChatResponse, or `event: error`
# ErrorBody when the reply failed part-way.
SSE_EVENTS: dict[str, type[BaseModel]] = {
    "meta": StreamMeta,
    "delta": StreamDelta,
    "replace": StreamReplace,
    "done": ChatResponse,
    "error": ErrorBody,
}


class WsMeta(StreamMeta):
    type: Literal["meta"]


class WsDelta(StreamDelta):
    type: Literal["delta"]


class WsReplace(StreamReplace):
    type: Literal["replace"]


class WsDone(ChatResponse):
    model_config = ConfigDict(extra="forbid")
    type: Literal["done"]


class WsError(ErrorBody):
    model_config = ConfigDict(extra="forbid")
    type: Literal["error"]


# A frame kefu sends on `WS /api/chat/ws`.
WsFrame = Annotated[WsMeta | WsDelta | WsReplace | WsDone | WsError, Field(discriminator="type")]


class MessagePublic(BaseModel):
    id: int
    role: str
    text: str
    created_at: str
    degraded: bool
    sources: list | None


class SessionMessages(BaseModel):
    session_id: str
    messages: list[MessagePublic]
