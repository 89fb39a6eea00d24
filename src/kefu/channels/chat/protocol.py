"""Wire types of kefu's own chat API (docs/api.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(max_length=1_000_000)
    session_id: str | None = Field(default=None, max_length=64)
    customer_id: str | None = Field(default=None, max_length=64)
    channel: str = Field(default="web", max_length=32)


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


class ChatResponse(BaseModel):
    session_id: str
    message_id: int | None
    text: str
    sources: list[SourcePublic]
    confidence: float
    handed_off: bool
    degraded: bool
    answered_by: str
    guarded: str | None = None


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
