"""Logins, token refresh and logout, API keys: everything that turns a credential into a `Principal`.

Argon2 runs in a thread (tens of ms of CPU, on purpose); access tokens are checked against the user's row (its
role, whether it is active, its token version) with a cache of `principal_ttl_s`, and API keys by their hash with
the same cache, so a chat turn with a key costs a dictionary look-up, and a revocation on this instance takes
effect at once (on other instances within the cache's seconds)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kefu.ops.auth.passwords import hash_password, password_problem, verify_password
from kefu.ops.auth.roles import ROLES, SCOPES, Principal, role_permissions, scope_permissions
from kefu.ops.auth.tokens import (
    API_KEY_PREFIX,
    REFRESH_PREFIX,
    TokenError,
    issue_access,
    load_key_ring,
    new_secret,
    read_access,
    secret_hash,
)
from kefu.ops.ratelimit import RateLimiter
from kefu.ops.settings import AuthSettings
from kefu.store.accounts import ApiKeyView, Duplicate, UserView
from kefu.store.repo import Store

log = logging.getLogger(__name__)


class AuthError(Exception):
    """A refused credential: the route answers `status` with `code`; nothing says which part was wrong."""

    def __init__(self, status: int, code: str, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


INVALID = ("invalid_credentials", "邮箱或密码错误 / Wrong e-mail or password")
UNAUTHORIZED = ("unauthorized", "需要登录或有效的 API 密钥 / Log in or send a valid API key")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: UserView

    def __repr__(self) -> str:
        return f"TokenPair(user={self.user.id}, expires_in={self.expires_in})"


_MISS = object()  # not in the principal cache (None is a cached refusal)


def normalise_email(email: str) -> str:
    return email.strip().lower()


class Accounts:
    principal_ttl_s = 5.0
    cache_size = 10_000
    touch_every_s = 60.0

    def __init__(self, store: Store, settings: AuthSettings, limiter: RateLimiter) -> None:
        self.store, self.settings, self.limiter = store, settings, limiter
        self.ring = load_key_ring(
            {k: v.get_secret_value() for k, v in settings.jwt_keys.items()},
            settings.jwt_active_key,
            settings.jwt_key_file,
        )
        # (kind, id) -> (principal or None, expiry); kind "u" (tenant, user, version) or "k" (key hash)
        self._cache: OrderedDict[tuple, tuple[Principal | None, float]] = OrderedDict()
        self._touched: dict[int, float] = {}

    # --- users -------------------------------------------------------------------------------------
    def create_user(
        self, tenant: str, email: str, role: str, password: str, display_name: str = "", actor: str = "cli"
    ) -> UserView:
        """Synchronous (the CLI's and the admin route's thread): argon2 takes its time here."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        problem = password_problem(password)
        if problem:
            raise ValueError(problem)
        email = normalise_email(email)
        if "@" not in email or len(email) > 254:
            raise ValueError("邮箱格式错误 / Invalid e-mail address")
        if not self.store.tenant_exists(tenant):
            raise LookupError(tenant)
        return self.store.create_user(tenant, email, role, hash_password(password), display_name, actor)

    def update_user(self, tenant: str, user_id: int, actor: str, **fields: object) -> UserView | None:
        if "role" in fields and fields["role"] not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if "password" in fields:
            password = str(fields.pop("password"))
            problem = password_problem(password)
            if problem:
                raise ValueError(problem)
            fields["password_hash"] = hash_password(password)
        self.forget()
        return self.store.update_user(tenant, user_id, actor, **fields)

    async def login(self, tenant: str, email: str, password: str, ip: str) -> TokenPair:
        limit = self.settings.rate_limits.login
        retry = await self.limiter.hit(f"login:ip:{ip}", limit)
        if retry is not None:
            raise AuthError(429, "rate_limited", "登录尝试过多 / Too many login attempts", retry)
        email = normalise_email(email)
        creds = await self.store.run(self.store.credentials, tenant, email)
        now = datetime.now(UTC)
        if creds is not None and creds.locked_until is not None and creds.locked_until > now:
            wait = (creds.locked_until - now).total_seconds()
            await self.store.run(
                self.store.audit, tenant, f"user:{creds.user.id}", "login.locked", f"user:{creds.user.id}", {"ip": ip}
            )
            raise AuthError(429, "account_locked", "账号已临时锁定，请稍后再试 / Account locked; try again later", wait)
        if creds is None:
            # An unknown e-mail locks like a known one (same count, same first wait): a 429 never tells that an
            # account exists.
            s = self.settings
            unknown = f"login:unknown:{tenant}:{email}"
            wait = await self.limiter.hit(unknown, s.lockout_after, s.lockout_base_s * s.lockout_after)
            if wait is not None:
                raise AuthError(
                    429, "account_locked", "账号已临时锁定，请稍后再试 / Account locked; try again later", wait
                )
        ok = await asyncio.to_thread(verify_password, creds.password_hash if creds else None, password)
        if creds is None:
            raise AuthError(401, *INVALID)
        if not ok or not creds.user.active:
            failures = creds.failed_logins + 1
            locked = None
            if failures >= self.settings.lockout_after:
                back_off = self.settings.lockout_base_s * 2 ** (failures - self.settings.lockout_after)
                locked = now + timedelta(seconds=min(back_off, self.settings.lockout_max_s))
            await self.store.run(
                self.store.record_login, tenant, creds.user.id, False, locked, {"ip": ip, "failures": failures}
            )
            raise AuthError(401, *INVALID)
        await self.store.run(self.store.record_login, tenant, creds.user.id, True, None, {"ip": ip})
        return await self._issue(creds.user, uuid.uuid4().hex)

    async def _issue(self, user: UserView, family: str) -> TokenPair:
        s = self.settings
        access, _ = issue_access(
            self.ring,
            tenant=user.tenant_id,
            user_id=user.id,
            role=user.role,
            version=user.token_version,
            issuer=s.issuer,
            audience=s.audience,
            ttl_s=s.access_ttl_s,
        )
        refresh = new_secret(REFRESH_PREFIX)
        expires = datetime.now(UTC) + timedelta(seconds=s.refresh_ttl_s)
        await self.store.run(
            self.store.add_refresh_token, user.tenant_id, user.id, secret_hash(refresh), family, expires
        )
        return TokenPair(access, s.access_ttl_s, refresh, s.refresh_ttl_s, user)

    async def refresh(self, refresh_token: str) -> TokenPair:
        if not refresh_token.startswith(REFRESH_PREFIX) or len(refresh_token) > 100:
            raise AuthError(401, *UNAUTHORIZED)
        use = await self.store.run(self.store.use_refresh_token, secret_hash(refresh_token))
        if use.status != "ok":
            if use.status == "reused":
                log.warning(
                    "a rotated refresh token was presented again: that login is revoked",
                    extra={"tenant": use.tenant_id, "user": use.user_id},
                )
            raise AuthError(401, *UNAUTHORIZED)
        user = await self.store.run(self.store.get_user, use.tenant_id, use.user_id)
        if user is None or not user.active:
            raise AuthError(401, *UNAUTHORIZED)
        return await self._issue(user, use.family)

    async def logout(self, who: Principal, refresh_token: str) -> bool:
        return await self.store.run(self.store.revoke_refresh_family, who.tenant, secret_hash(refresh_token), who.actor)

    async def logout_everywhere(self, who: Principal, user_id: int | None = None) -> bool:
        done = await self.store.run(self.store.end_logins, who.tenant, user_id or who.subject, who.actor)
        self.forget()
        return done

    async def from_access_token(self, token: str) -> Principal:
        s = self.settings
        try:
            claims = read_access(self.ring, token, issuer=s.issuer, audience=s.audience)
        except TokenError:
            raise AuthError(401, *UNAUTHORIZED) from None
        key = ("u", claims["ten"], int(claims["sub"]), int(claims["ver"]))
        principal = self._cached(key)
        if principal is _MISS:
            user = await self.store.run(self.store.get_user, claims["ten"], int(claims["sub"]))
            principal = None
            if user is not None and user.active and user.token_version == int(claims["ver"]):
                principal = Principal(
                    "user", user.tenant_id, user.id, role_permissions(user.role), user.role, None, user.email
                )
            self._remember(key, principal)
        if principal is None:
            raise AuthError(401, *UNAUTHORIZED)
        return principal

    # --- API keys ------------------------------------------------------------------------------------
    async def create_key(
        self, tenant: str, name: str, scopes: list[str], bot: str | None, actor: str
    ) -> tuple[str, ApiKeyView]:
        """The key itself is returned here once; only its hash is kept."""
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise ValueError(f"scopes must be among {', '.join(SCOPES)}")
        secret = new_secret(API_KEY_PREFIX)
        view = await self.store.run(
            self.store.create_api_key, tenant, name, secret[:11], secret_hash(secret), sorted(set(scopes)), bot, actor
        )
        return secret, view

    async def revoke_key(self, who: Principal, key_id: int) -> bool:
        done = await self.store.run(self.store.revoke_api_key, who.tenant, key_id, who.actor)
        self.forget()
        return done

    async def from_api_key(self, key: str) -> Principal:
        if not key.startswith(API_KEY_PREFIX) or len(key) > 100:
            raise AuthError(401, *UNAUTHORIZED)
        digest = secret_hash(key)
        principal = self._cached(("k", digest))
        if principal is _MISS:
            view = await self.store.run(self.store.api_key_by_hash, digest)
            principal = None
            if view is not None:
                principal = Principal(
                    "api_key", view.tenant_id, view.id, scope_permissions(view.scopes), None, view.bot_name, view.name
                )
            self._remember(("k", digest), principal)
        if principal is None:
            raise AuthError(401, *UNAUTHORIZED)
        self._touch(principal)
        return principal

    def _touch(self, key: Principal) -> None:
        """Last-used time, written at most once a minute per key and never waited for."""
        now = time.monotonic()
        if now - self._touched.get(key.subject, -math.inf) < self.touch_every_s:
            return
        self._touched[key.subject] = now
        if len(self._touched) > self.cache_size:
            self._touched.clear()
        self.store.submit(self.store.touch_api_keys, key.tenant, [key.subject], datetime.now(UTC))

    # --- the principal cache ----------------------------------------------------------------------------
    def _cached(self, key: tuple) -> object:
        hit = self._cache.get(key)
        if hit is None or hit[1] <= time.monotonic():
            return _MISS
        return hit[0]

    def _remember(self, key: tuple, principal: Principal | None) -> None:
        self._cache[key] = (principal, time.monotonic() + self.principal_ttl_s)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def forget(self) -> None:
        """After a change to who may do what on this instance: nothing stale is believed here."""
        self._cache.clear()


__all__ = ["Accounts", "AuthError", "Duplicate", "TokenPair", "normalise_email"]
