"""Dependencies shared by the channel routes, as Annotated aliases."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.requests import HTTPConnection

from kefu.channels.errors import ApiError
from kefu.conversation.pipeline import Pipeline
from kefu.conversation.types import Reply, Turn
from kefu.ops.settings import Settings
from kefu.services import Services
from kefu.store.repo import UnknownSession, UnknownTenant

_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")


async def get_services(request: HTTPConnection) -> Services:
    return request.app.state.services


async def get_pipeline(request: HTTPConnection) -> Pipeline:
    return request.app.state.services.pipeline


async def get_settings(request: HTTPConnection) -> Settings:
    return request.app.state.services.settings


async def get_tenant(x_tenant_id: Annotated[str | None, Header()] = None) -> str:
    tenant = x_tenant_id or "default"
    if not _ID.match(tenant):
        raise ApiError(400, "invalid_request", "X-Tenant-Id 格式错误 / Invalid X-Tenant-Id")
    return tenant


async def get_service_type(x_service_type: Annotated[str | None, Header()] = None) -> str:
    st = x_service_type or "default"
    if not _ID.match(st):
        raise ApiError(400, "invalid_request", "X-Service-Type 格式错误 / Invalid X-Service-Type")
    return st


async def require_json(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type")


ServicesDep = Annotated[Services, Depends(get_services)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TenantDep = Annotated[str, Depends(get_tenant)]
ServiceTypeDep = Annotated[str, Depends(get_service_type)]
JsonBody = Depends(require_json)


def valid_id(value: str | None, what: str) -> str | None:
    if value is not None and not _ID.match(value):
        raise ApiError(422, "invalid_request", f"{what} 格式错误 / Invalid {what}")
    return value


def check_text(text: str, settings: Settings) -> str:
    if not text.strip():
        raise ApiError(422, "empty_text")
    if len(text) > settings.max_message_chars:
        raise ApiError(
            413,
            "text_too_long",
            f"消息过长（最多 {settings.max_message_chars} 字） / Message too long "
            f"(max {settings.max_message_chars} characters)",
        )
    if "\x00" in text or not is_valid_unicode(text):
        raise ApiError(422, "invalid_request", "消息含有非法字符 / The message contains invalid characters")
    return text


def is_valid_unicode(text: str) -> bool:
    """False for lone surrogates (JSON allows "\\ud800"; UTF-8 and the database do not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def start_turn(pipeline: Pipeline, turn: Turn) -> Reply:
    """Run the pipeline's first steps, turning lookup failures into 404s for the customer."""
    try:
        return await pipeline.answer(turn)
    except UnknownSession as e:
        raise ApiError(404, "unknown_session") from e
    except UnknownTenant as e:
        raise ApiError(404, "unknown_tenant") from e
