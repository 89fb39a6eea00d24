"""kefu's own chat API: JSON, Server-Sent Events and WebSocket, all over one turn pipeline."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from kefu.channels.chat.protocol import ChatRequest, ChatResponse, SessionMessages
from kefu.channels.deps import (
    JsonBody,
    PipelineDep,
    ServicesDep,
    ServiceTypeDep,
    SettingsDep,
    TenantDep,
    check_text,
    start_turn,
    valid_id,
)
from kefu.channels.errors import ApiError, error_body
from kefu.conversation.types import Reply, Turn
from kefu.ops.settings import Settings
from kefu.store.repo import UnknownSession

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["chat"])


def make_turn(body: ChatRequest, tenant: str, service_type: str, settings: Settings) -> Turn:
    return Turn(
        tenant=tenant,
        channel=valid_id(body.channel, "channel") or "web",
        customer=valid_id(body.customer_id, "customer_id"),
        session=valid_id(body.session_id, "session_id"),
        text=check_text(body.text, settings),
        service_type=service_type,
    )


@router.post("/chat", response_model=ChatResponse, dependencies=[JsonBody])
async def chat(
    body: ChatRequest, tenant: TenantDep, service_type: ServiceTypeDep, pipeline: PipelineDep, settings: SettingsDep
) -> dict:
    reply = await start_turn(pipeline, make_turn(body, tenant, service_type, settings))
    await reply.collect()
    return reply.public()


def _sse(event: str, data: dict) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _sse_events(reply: Reply) -> AsyncIterator[bytes]:
    yield _sse("meta", {"session_id": reply.session_id, "sources": [s.public() for s in reply.sources]})
    async for delta in reply.stream():
        yield b"event: delta\ndata: " + orjson.dumps({"text": delta}) + b"\n\n"
    yield _sse("done", reply.public())


@router.post("/chat/stream", dependencies=[JsonBody])
async def chat_stream(
    body: ChatRequest, tenant: TenantDep, service_type: ServiceTypeDep, pipeline: PipelineDep, settings: SettingsDep
) -> StreamingResponse:
    reply = await start_turn(pipeline, make_turn(body, tenant, service_type, settings))
    reply.begin()
    return StreamingResponse(
        _sse_events(reply),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "X-Session-Id": reply.session_id},
    )


@router.websocket("/chat/ws")
async def chat_ws(
    ws: WebSocket, tenant: TenantDep, service_type: ServiceTypeDep, pipeline: PipelineDep, settings: SettingsDep
) -> None:
    await ws.accept()
    session_id: str | None = None
    try:
        while True:
            frame = await ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            raw = frame.get("text")
            if raw is None:
                raw = (frame.get("bytes") or b"").decode("utf-8", "replace")
            try:
                if len(raw) > settings.max_body_bytes:
                    raise ApiError(413, "body_too_large")
                try:
                    body = ChatRequest.model_validate_json(raw)
                except ValidationError as e:
                    bad_json = any(err.get("type") == "json_invalid" for err in e.errors())
                    raise ApiError(400 if bad_json else 422, "invalid_json" if bad_json else "invalid_request") from e
                if body.session_id is None and session_id is not None:
                    body.session_id = session_id
                reply = await start_turn(pipeline, make_turn(body, tenant, service_type, settings))
            except ApiError as e:
                await ws.send_text(orjson.dumps({"type": "error", **error_body(e.code, e.message)}).decode())
                continue
            session_id = reply.session_id
            reply.begin()
            await ws.send_text(
                orjson.dumps(
                    {"type": "meta", "session_id": reply.session_id, "sources": [s.public() for s in reply.sources]}
                ).decode()
            )
            async for delta in reply.stream():
                await ws.send_text(orjson.dumps({"type": "delta", "text": delta}).decode())
            await ws.send_text(orjson.dumps({"type": "done", **reply.public()}).decode())
    except WebSocketDisconnect:
        return


@router.get("/sessions/{session_id}/messages", response_model=SessionMessages)
async def session_messages(session_id: str, tenant: TenantDep, services: ServicesDep) -> dict:
    valid_id(session_id, "session_id")
    try:
        msgs = await services.store.run(services.store.session_messages, tenant, session_id)
    except UnknownSession as e:
        raise ApiError(404, "unknown_session") from e
    return {"session_id": session_id, "messages": [m.__dict__ for m in msgs]}
