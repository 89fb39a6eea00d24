"""Thin router for the OpenAI-compatible endpoints."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from kefu.channels.deps import CLIENT_GONE, collect_while_connected, start_turn
from kefu.channels.openai_api.protocol import ChatCompletionRequest, Model, ModelList
from kefu.channels.openai_api.serving import completion, stream_chunks, to_turn
from kefu.http.deps import JsonBody, PipelineDep, ServicesDep, SettingsDep, TenantDep

router = APIRouter(prefix="/v1", tags=["openai"])


@router.post("/chat/completions", dependencies=[JsonBody], response_model=None)
async def chat_completions(
    request: Request,
    req: ChatCompletionRequest,
    tenant: TenantDep,
    pipeline: PipelineDep,
    settings: SettingsDep,
    x_session_id: Annotated[str | None, Header()] = None,
) -> Response:
    reply = await start_turn(pipeline, to_turn(req, tenant, x_session_id, settings))
    headers = {"X-Session-Id": reply.session_id}
    if req.stream:
        reply.begin()
        return StreamingResponse(
            stream_chunks(req, reply),
            media_type="text/event-stream",
            headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    if not await collect_while_connected(request, reply):
        return Response(status_code=CLIENT_GONE)
    return JSONResponse(completion(req, reply).model_dump(), headers=headers)


@router.get("/models", response_model=ModelList)
async def list_models(tenant: TenantDep, services: ServicesDep) -> ModelList:
    names = await services.store.run(services.store.bot_names, tenant)
    now = int(time.time())
    return ModelList(data=[Model(id=n, created=now, owned_by="kefu") for n in names])
