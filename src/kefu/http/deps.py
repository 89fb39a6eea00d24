"""Dependencies shared by every part's routes, as Annotated aliases (the FastAPI full-stack template's
`api/deps.py` shape): the running services, the settings, the tenant and service type from headers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.requests import HTTPConnection

from kefu.conversation.pipeline import Pipeline
from kefu.http.errors import ApiError
from kefu.http.validators import is_valid_id
from kefu.ops.settings import Settings
from kefu.services import Services


async def get_services(request: HTTPConnection) -> Services:
    return request.app.state.services


async def get_pipeline(request: HTTPConnection) -> Pipeline:
    return request.app.state.services.pipeline


async def get_settings(request: HTTPConnection) -> Settings:
    return request.app.state.services.settings


async def get_tenant(x_tenant_id: Annotated[str | None, Header()] = None) -> str:
    tenant = x_tenant_id or "default"
    if not is_valid_id(tenant):
        raise ApiError(400, "invalid_request", "X-Tenant-Id 格式错误 / Invalid X-Tenant-Id")
    return tenant


async def get_service_type(x_service_type: Annotated[str | None, Header()] = None) -> str:
    st = x_service_type or "default"
    if not is_valid_id(st):
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
