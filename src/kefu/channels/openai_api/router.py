"""Thin router for the OpenAI-compatible endpoints."""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from kefu.channels.deps import (
    CLIENT_GONE,
    TURN_ERRORS,
    EventStream,
    collect_while_connected,
    event_stream_response,
    start_turn,
)
from kefu.channels.openai_api.protocol import ChatCompletion, ChatCompletionRequest, Model, ModelList
from kefu.channels.openai_api.serving import completion, stream_chunks, to_turn
from kefu.http.auth import ChatAccessDep, admit_turn
from kefu.http.deps import JsonBody, ServicesDep
from kefu.http.errors import error_responses
from kefu.http.validators import ID_PATTERN

router = APIRouter(prefix="/v1", tags=["openai"])
STREAM_DOC = (
    "A ChatCompletion; with `stream: true` Server-Sent Events: one ChatCompletionChunk per `data:` line (an "
    "`event: error` line with an ErrorBody if the reply failed part-way), then `data: [DONE]`."
)


@router.post(
    "/chat/completions",
    dependencies=[JsonBody],
    response_model=ChatCompletion,
    responses={200: event_stream_response(STREAM_DOC, ["error"], unnamed=True), **TURN_ERRORS},
)
async def chat_completions(
    request: Request,
    req: ChatCompletionRequest,
    access: ChatAccessDep,
    services: ServicesDep,
    x_session_id: Annotated[str | None, Header(pattern=ID_PATTERN)] = None,
) -> Response:
    turn = to_turn(req, access.tenant, x_session_id, services.settings)
    if access.key is not None and access.key.bot is not None and req.model in ("", "kefu", "default"):
        turn = dataclasses.replace(turn, service_type=access.key.bot)  # the key's own bot, when none is named
    await admit_turn(services, access, turn.service_type, turn.customer or turn.session)
    reply = await start_turn(services.pipeline, turn)
    headers = {"X-Session-Id": reply.session_id}
    if req.stream:
        reply.begin()
        return EventStream(stream_chunks(req, reply), headers=headers)
    if not await collect_while_connected(request, reply):
        return Response(status_code=CLIENT_GONE)
    return JSONResponse(completion(req, reply).model_dump(), headers=headers)


@router.get("/models", response_model=ModelList, responses=error_responses(400, 401, 403, 404, 429))
async def list_models(access: ChatAccessDep, services: ServicesDep) -> ModelList:
    names = await services.store.run(services.store.bot_names, access.tenant)
    if access.key is not None and access.key.bot is not None:
        names = [n for n in names if n == access.key.bot]
    now = int(time.time())
    return ModelList(data=[Model(id=n, created=now, owned_by="kefu") for n in names])
