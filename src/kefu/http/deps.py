"""Dependencies shared by every part's routes, as Annotated aliases (the FastAPI full-stack template's
`api/deps.py` shape): the running services, the settings, the tenant and service type from headers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request
from starlette.requests import HTTPConnection

from kefu.conversation.pipeline import Pipeline
from kefu.http.errors import ApiError
from kefu.http.validators import HEADER_ID_PATTERN, is_valid_id
from kefu.ops.settings import Settings
from kefu.services import Services


async def get_services(request: HTTPConnection) -> Services:
    return request.app.state.services


async def get_pipeline(request: HTTPConnection) -> Pipeline:
    return request.app.state.services.pipeline


async def get_settings(request: HTTPConnection) -> Settings:
    return request.app.state.services.settings


def _id_header(what: str) -> Any:
    # The pattern is in the schema only: a bad value is answered 400 here, not 422 by FastAPI. Empty is the default.
    return Header(description=what, json_schema_extra={"pattern": HEADER_ID_PATTERN})


def _header_id(value: str, header: str) -> str:
    value = value or "default"
    if not is_valid_id(value):
        raise ApiError(400, "invalid_request", f"{header} 格式错误 / Invalid {header}")
    return value


async def get_tenant(
    x_tenant_id: Annotated[str, _id_header("租户 / The tenant; empty or absent: default")] = "default",
) -> str:
    return _header_id(x_tenant_id, "X-Tenant-Id")


async def get_service_type(
    x_service_type: Annotated[str, _id_header("机器人配置 / The bot profile; empty or absent: default")] = "default",
) -> str:
    return _header_id(x_service_type, "X-Service-Type")


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
