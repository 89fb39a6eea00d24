"""Who is calling, for every part's routes: `Authorization: Bearer` an access token (JWT) or an API key
(`kf_...`), or the deprecated admin token; the permission a route needs (`require`); the customer channels'
access (`ChatAccessDep`: an API key decides the tenant, else the bot must allow anonymous customers from this
origin); rate limits with a `Retry-After`; the client's address behind trusted proxies only."""

from __future__ import annotations

import hmac
import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Header
from starlette.requests import HTTPConnection

from kefu.accounts.service import AuthError
from kefu.http.deps import ServicesDep, get_service_type, get_tenant
from kefu.http.errors import ApiError
from kefu.ops.auth.roles import Permission, Principal
from kefu.ops.auth.tokens import API_KEY_PREFIX, looks_like_jwt
from kefu.ops.clientip import client_ip, parse_trusted
from kefu.ops.settings import Settings
from kefu.services import Services
from kefu.store.repo import BotView, UnknownTenant

log = logging.getLogger(__name__)
LOOPBACK = frozenset({"127.0.0.1", "::1"})
_warned_at = [-math.inf]


def refused(e: AuthError) -> ApiError:
    headers = {"Retry-After": str(max(1, math.ceil(e.retry_after)))} if e.retry_after is not None else None
    if e.status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return ApiError(e.status, e.code, e.message or None, headers)


def too_many(retry_after: float) -> ApiError:
    return ApiError(429, "rate_limited", None, {"Retry-After": str(max(1, math.ceil(retry_after)))})


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple:
    return parse_trusted(entries)


def request_ip(conn: HTTPConnection, settings: Settings) -> str:
    """The client's address: X-Forwarded-For counts only when the direct peer is a configured trusted proxy."""
    peer = conn.client.host if conn.client else None
    return client_ip(peer, conn.headers.get("x-forwarded-for"), _trusted(tuple(settings.auth.trusted_proxies)))


def bearer(conn: HTTPConnection) -> str:
    value = conn.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _bootstrap(services: Services, tenant: str) -> Principal:
    now = time.monotonic()
    if now - _warned_at[0] > 60:
        _warned_at[0] = now
        log.warning("the admin token is deprecated: create an admin with `kefu users add` and log in")
    if not await services.store.run(services.store.tenant_exists, tenant):
        raise ApiError(404, "unknown_tenant")
    return Principal("bootstrap", tenant, 0, frozenset(Permission), "admin", None, "admin-token")


async def authenticate(conn: HTTPConnection, services: Services, token: str) -> Principal:
    """A principal for an access token or API key (refusals as ApiError); API keys are rate-limited here."""
    try:
        if token.startswith(API_KEY_PREFIX):
            who = await services.accounts.from_api_key(token)
            limit = services.settings.auth.rate_limits.api_key
            retry = await services.limiter.hit(f"key:{who.subject}", limit)
            if retry is not None:
                raise too_many(retry)
            return who
        if looks_like_jwt(token):
            return await services.accounts.from_access_token(token)
    except AuthError as e:
        raise refused(e) from None
    raise ApiError(401, "unauthorized", None, {"WWW-Authenticate": "Bearer"})


async def get_principal(
    conn: HTTPConnection,
    services: ServicesDep,
    tenant_header: Annotated[str, Depends(get_tenant)],
    authorization: Annotated[
        str | None, Header(description="Bearer 访问令牌或 API 密钥 / access token or API key")
    ] = None,
) -> Principal:
    settings = services.settings
    token = bearer(conn)
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token is not None else ""
    if token and admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return await _bootstrap(services, tenant_header)
    if not token:
        host = conn.client.host if conn.client else ""
        if not admin_token and settings.admin_open_local and host in LOOPBACK:
            return await _bootstrap(services, tenant_header)
        raise ApiError(401, "unauthorized", None, {"WWW-Authenticate": "Bearer"})
    who = await authenticate(conn, services, token)
    if "x-tenant-id" in conn.headers and tenant_header != who.tenant:
        raise ApiError(404, "unknown_tenant")  # another tenant's name is never confirmed, not even by a 403
    return who


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Any:
    """A dependency: the caller, who must hold `permission` (403 otherwise)."""

    async def check(who: PrincipalDep) -> Principal:
        if not who.can(permission):
            raise ApiError(403, "forbidden")
        return who

    return Depends(check)


@dataclass(frozen=True)
class ChatAccess:
    """Who a customer turn is for: the tenant and bot (from the API key, or the bot allowing anonymous
    customers), the key if any, the client's address."""

    tenant: str
    service_type: str
    ip: str
    key: Principal | None
    bot: BotView

    def limit(self, settings: Settings, kind: str) -> int:
        own = (self.bot.rate_limits or {}).get(kind)
        return own if own is not None else getattr(settings.auth.rate_limits, kind)


def origin_allowed(conn: HTTPConnection, bot: BotView) -> bool:
    """A browser's Origin against the bot's list: None allows any site (the demo; set a list before going live),
    "self" is the page kefu serves itself, "*" any site."""
    origin = conn.headers.get("origin")
    allowed = bot.allowed_origins
    if origin is None or allowed is None or "*" in allowed:  # no Origin: not a browser's cross-site request
        return True
    origin = origin.rstrip("/").lower()
    if "self" in allowed and origin.split("://", 1)[-1] == conn.headers.get("host", "").lower():
        return True
    return origin in {a.rstrip("/").lower() for a in allowed}


async def get_chat_access(
    conn: HTTPConnection,
    services: ServicesDep,
    tenant_header: Annotated[str, Depends(get_tenant)],
    service_type: Annotated[str, Depends(get_service_type)],
) -> ChatAccess:
    settings = services.settings
    token = bearer(conn)
    key = None
    if token.startswith(API_KEY_PREFIX):
        key = await authenticate(conn, services, token)
        if not key.can(Permission.CHAT):
            raise ApiError(403, "forbidden")
        if "x-tenant-id" in conn.headers and tenant_header != key.tenant:
            raise ApiError(403, "forbidden", "此 API 密钥不属于该租户 / This API key is for another tenant")
        if key.bot is not None:
            if "x-service-type" in conn.headers and service_type != key.bot:
                raise ApiError(403, "forbidden", "此 API 密钥只能用于另一个机器人 / This API key is for another bot")
            service_type = key.bot
    tenant = key.tenant if key is not None else tenant_header
    try:
        bot = await services.store.run(services.store.bot, tenant, service_type)
    except UnknownTenant as e:
        raise ApiError(404, "unknown_tenant") from e
    if key is None and not bot.allow_anonymous:
        raise ApiError(
            401, "unauthorized", "该机器人需要 API 密钥 / This bot needs an API key", {"WWW-Authenticate": "Bearer"}
        )
    if not origin_allowed(conn, bot):
        raise ApiError(403, "origin_not_allowed")
    ip = request_ip(conn, settings)
    access = ChatAccess(tenant, service_type, ip, key, bot)
    retry = await services.limiter.hit(f"ip:{tenant}:{ip}", access.limit(settings, "ip"))
    if retry is not None:
        raise too_many(retry)
    return access


async def admit_turn(services: Services, access: ChatAccess, service_type: str, customer: str | None) -> None:
    """Once the request body is read: the bot it names (an OpenAI client's `model`) must be open to this caller,
    and the customer (or the session) is within their turns per minute."""
    if service_type != access.service_type:
        if access.key is not None and access.key.bot is not None:
            raise ApiError(403, "forbidden", "此 API 密钥只能用于另一个机器人 / This API key is for another bot")
        try:
            bot = await services.store.run(services.store.bot, access.tenant, service_type)
        except UnknownTenant as e:
            raise ApiError(404, "unknown_tenant") from e
        if access.key is None and not bot.allow_anonymous:
            raise ApiError(
                401, "unauthorized", "该机器人需要 API 密钥 / This bot needs an API key", {"WWW-Authenticate": "Bearer"}
            )
    if customer:
        retry = await services.limiter.hit(
            f"cust:{access.tenant}:{customer}", access.limit(services.settings, "customer")
        )
        if retry is not None:
            raise too_many(retry)


ChatAccessDep = Annotated[ChatAccess, Depends(get_chat_access)]
