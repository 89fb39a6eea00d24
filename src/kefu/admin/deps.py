"""Admin access: `Authorization: Bearer <KEFU_ADMIN_TOKEN>`, or, with no token configured, only from
this machine. Roles and JWT come with the access-control issue."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from kefu.channels.deps import TenantDep
from kefu.channels.errors import ApiError

LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}


async def require_admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    token = request.app.state.services.settings.admin_token
    if token:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise ApiError(401, "unauthorized", "需要管理员令牌 / Admin token required")
        return
    host = request.client.host if request.client else ""
    if host not in LOOPBACK:
        raise ApiError(
            403, "forbidden", "未配置 KEFU_ADMIN_TOKEN 时仅允许本机访问 / Set KEFU_ADMIN_TOKEN for remote admin"
        )


AdminDep = Depends(require_admin)


async def existing_tenant(request: Request, tenant: TenantDep) -> str:
    """Admin writes need a tenant that exists (customers' turns check it in the pipeline)."""
    store = request.app.state.services.store
    if not await store.run(store.tenant_exists, tenant):
        raise ApiError(404, "unknown_tenant")
    return tenant


AdminTenantDep = Annotated[str, Depends(existing_tenant)]
