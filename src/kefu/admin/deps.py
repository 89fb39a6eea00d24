"""Admin access: `Authorization: Bearer <KEFU_ADMIN_TOKEN>`. Without a token nothing is open, unless the
operator sets the development flag KEFU_ADMIN_OPEN_LOCAL=true, which opens it to loopback clients only
(a reverse proxy on the same host is loopback too: never set it behind one). `kefu serve` creates a
token when none is configured and prints it. Roles and JWT come with the accounts issue."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from kefu.http.deps import ServicesDep, TenantDep
from kefu.http.errors import ApiError

LOOPBACK = frozenset({"127.0.0.1", "::1"})


async def require_admin(
    request: Request, services: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    settings = services.settings
    if settings.admin_token is not None:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), settings.admin_token.get_secret_value().encode()):
            raise ApiError(401, "unauthorized", "需要管理员令牌 / Admin token required")
        return
    host = request.client.host if request.client else ""
    if not (settings.admin_open_local and host in LOOPBACK):
        raise ApiError(
            403,
            "forbidden",
            "管理接口需要 KEFU_ADMIN_TOKEN / The admin API needs KEFU_ADMIN_TOKEN (kefu serve prints one)",
        )


AdminDep = Depends(require_admin)


async def existing_tenant(services: ServicesDep, tenant: TenantDep) -> str:
    """Admin writes need a tenant that exists (customers' turns check it in the pipeline)."""
    store = services.store
    if not await store.run(store.tenant_exists, tenant):
        raise ApiError(404, "unknown_tenant")
    return tenant


AdminTenantDep = Annotated[str, Depends(existing_tenant)]
