"""kefu's own chat API: JSON, Server-Sent Events and WebSocket, all over one turn pipeline."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Request, Response, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from kefu.channels.chat.protocol import SSE_EVENTS, ChatRequest, ChatResponse, SessionMessages
from kefu.channels.deps import (
    CLIENT_GONE,
    TURN_ERRORS,
    EventStream,
    collect_while_connected,
    event_stream_response,
    start_turn,
)
from kefu.conversation.types import Reply, Retraction, Turn
from kefu.http.auth import ChatAccess, ChatAccessDep, admit_turn
from kefu.http.deps import JsonBody, ServicesDep
from kefu.http.errors import ApiError, error_body, error_responses, failure_code
from kefu.http.validators import ID_PATTERN, check_text, valid_id
from kefu.ops.settings import Settings
from kefu.services import Services
from kefu.store.repo import UnknownSession

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["chat"])
SSE_DOC = (
    "Server-Sent Events: `meta` (StreamMeta), `delta` (StreamDelta) per piece of text, then `done` (ChatResponse), "
    "or `error` (ErrorBody) if the reply failed part-way; see kefu.channels.chat.protocol and docs/api.md."
)


def make_turn(body: ChatRequest, access: ChatAccess, settings: Settings) -> Turn:
    return Turn(
        tenant=access.tenant,
        channel=valid_id(body.channel, "channel") or "web",
        customer=valid_id(body.customer_id, "customer_id"),
        session=valid_id(body.session_id, "session_id"),
        text=check_text(body.text, settings),
        service_type=access.service_type,
    )


async def admitted_turn(body: ChatRequest, access: ChatAccess, services: Services) -> Turn:
    turn = make_turn(body, access, services.settings)
    await admit_turn(services, access, turn.service_type, turn.customer or turn.session)
    return turn


@router.post("/chat", response_model=ChatResponse, dependencies=[JsonBody], responses=TURN_ERRORS)
async def chat(
    request: Request,
    body: ChatRequest,
    access: ChatAccessDep,
    services: ServicesDep,
) -> dict | Response:
    reply = await start_turn(services.pipeline, await admitted_turn(body, access, services))
    if not await collect_while_connected(request, reply):
        return Response(status_code=CLIENT_GONE)
    return reply.public()


def _sse(event: str, data: dict) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _sse_events(reply: Reply) -> AsyncIterator[bytes]:
    """The events of chat/protocol.py's SSE_EVENTS. A reply that fails part-way ends with an error event, so
    the client knows it is over (the status line went out with the first event)."""
    yield _sse("meta", {"session_id": reply.session_id, "sources": [s.public() for s in reply.sources]})
    try:
        async with contextlib.aclosing(reply.stream()) as deltas:
            async for delta in deltas:
                kind = b"replace" if isinstance(delta, Retraction) else b"delta"
                yield b"event: " + kind + b"\ndata: " + orjson.dumps({"text": str(delta)}) + b"\n\n"
    except Exception as e:
        log.exception("reply failed mid-stream", extra={"channel": "sse"})
        yield _sse("error", error_body(failure_code(e)))
        return
    yield _sse("done", reply.public())


@router.post(
    "/chat/stream",
    dependencies=[JsonBody],
    response_model=None,
    responses={200: event_stream_response(SSE_DOC, list(SSE_EVENTS)), **TURN_ERRORS},
)
async def chat_stream(body: ChatRequest, access: ChatAccessDep, services: ServicesDep) -> EventStream:
    reply = await start_turn(services.pipeline, await admitted_turn(body, access, services))
    reply.begin()
    return EventStream(_sse_events(reply), headers={"X-Session-Id": reply.session_id})


@router.websocket("/chat/ws")
async def chat_ws(ws: WebSocket, access: ChatAccessDep, services: ServicesDep) -> None:
    settings = services.settings
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
                body = _ws_request(raw, settings, session_id)
                reply = await start_turn(services.pipeline, await admitted_turn(body, access, services))
                session_id = reply.session_id
                await _ws_reply(ws, reply)
            except ApiError as e:
                await ws.send_text(orjson.dumps({"type": "error", **error_body(e.code, e.message)}).decode())
            except WebSocketDisconnect:
                raise
            except Exception as e:
                # The turn failed, perhaps part-way: say so and keep the socket for the customer's next message.
                log.exception("reply failed", extra={"channel": "ws"})
                await ws.send_text(orjson.dumps({"type": "error", **error_body(failure_code(e))}).decode())
    except WebSocketDisconnect:
        return


def _ws_request(raw: str, settings: Settings, session_id: str | None) -> ChatRequest:
    """A frame as a ChatRequest; without a session id it continues the socket's session."""
    if len(raw) > settings.max_body_bytes:
        raise ApiError(413, "body_too_large")
    try:
        body = ChatRequest.model_validate_json(raw)
    except ValidationError as e:
        bad_json = any(err.get("type") == "json_invalid" for err in e.errors())
        raise ApiError(400 if bad_json else 422, "invalid_json" if bad_json else "invalid_request") from e
    if body.session_id is None and session_id is not None:
        body.session_id = session_id
    return body


async def _ws_reply(ws: WebSocket, reply: Reply) -> None:
    """The frames of chat/protocol.py's WsFrame for one reply."""
    reply.begin()
    meta = {"type": "meta", "session_id": reply.session_id, "sources": [s.public() for s in reply.sources]}
    await ws.send_text(orjson.dumps(meta).decode())
    async with contextlib.aclosing(reply.stream()) as deltas:  # closed (the engine stopped) if the socket goes
        async for delta in deltas:
            kind = "replace" if isinstance(delta, Retraction) else "delta"
            await ws.send_text(orjson.dumps({"type": kind, "text": str(delta)}).decode())
    await ws.send_text(orjson.dumps({"type": "done", **reply.public()}).decode())


@router.get(
    "/sessions/{session_id}/messages",
    response_model=SessionMessages,
    responses=error_responses(400, 401, 403, 404, 422, 429),
)
async def session_messages(
    session_id: Annotated[str, Path(pattern=ID_PATTERN)], access: ChatAccessDep, services: ServicesDep
) -> dict:
    valid_id(session_id, "session_id")
    try:
        msgs = await services.store.run(services.store.session_messages, access.tenant, session_id)
    except UnknownSession as e:
        raise ApiError(404, "unknown_session") from e
    return {"session_id": session_id, "messages": [m.__dict__ for m in msgs]}
