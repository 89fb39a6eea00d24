"""Wire types of kefu's own chat API (docs/api.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(max_length=1_000_000)
    session_id: str | None = Field(default=None, max_length=64)
    customer_id: str | None = Field(default=None, max_length=64)
    channel: str = Field(default="web", max_length=32)


class SourcePublic(BaseModel):
    id: str
    title: str
    snippet: str
    score: float


class ChatResponse(BaseModel):
    session_id: str
    message_id: int | None
    text: str
    sources: list[SourcePublic]
    confidence: float
    handed_off: bool
    degraded: bool
    answered_by: str


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
