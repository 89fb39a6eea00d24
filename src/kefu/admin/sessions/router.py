"""A conversation's messages for staff who may read conversations; another tenant's session is 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from kefu.admin.deps import SessionsReader
from kefu.http.deps import ServicesDep
from kefu.http.errors import ApiError, error_responses
from kefu.http.validators import ID_PATTERN
from kefu.store.repo import UnknownSession

router = APIRouter(
    prefix="/admin/sessions", tags=["admin: conversations"], responses=error_responses(400, 401, 403, 404, 422, 429)
)


class StaffMessage(BaseModel):
    id: int
    role: str
    text: str
    created_at: str
    degraded: bool
    sources: list | None


class StaffSession(BaseModel):
    session_id: str
    mode: str
    handoff_reason: str | None
    messages: list[StaffMessage]


@router.get("/{session_id}", response_model=StaffSession)
async def get_session(
    session_id: Annotated[str, Path(pattern=ID_PATTERN)], who: SessionsReader, services: ServicesDep
) -> dict:
    store = services.store
    try:
        mode, reason = await store.run(store.session_mode, who.tenant, session_id)
        msgs = await store.run(store.session_messages, who.tenant, session_id)
    except UnknownSession as e:
        raise ApiError(404, "unknown_session") from e
    return {"session_id": session_id, "mode": mode, "handoff_reason": reason, "messages": [m.__dict__ for m in msgs]}
