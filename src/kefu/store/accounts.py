"""Account queries: users, refresh tokens, API keys. Every write that changes who may do what appends its
audit entry in the same transaction (store/audit.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from kefu.store.audit import append as audit_append
from kefu.store.models import ApiKey, RefreshToken, User, utcnow


class Duplicate(ValueError):
    pass


@dataclass(frozen=True)
class UserView:
    id: int
    tenant_id: str
    email: str
    display_name: str
    role: str
    active: bool
    token_version: int
    created_at: str
    last_login_at: str | None


@dataclass(frozen=True)
class Credentials:
    """What a login needs to decide; never leaves the accounts service."""

    user: UserView
    password_hash: str
    failed_logins: int
    locked_until: datetime | None

    def __repr__(self) -> str:
        return f"Credentials(user={self.user.id}, failed_logins={self.failed_logins})"


@dataclass(frozen=True)
class ApiKeyView:
    id: int
    tenant_id: str
    name: str
    prefix: str
    bot_name: str | None
    scopes: list[str]
    created_by: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None


@dataclass(frozen=True)
class RefreshUse:
    """What presenting a refresh token found: "ok" (now rotated), "reused" (already rotated: its whole login is
    revoked), "expired" or "unknown"."""

    status: str
    tenant_id: str = ""
    user_id: int = 0
    family: str = ""


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def _user(row: Any) -> UserView:
    return UserView(
        row.id,
        row.tenant_id,
        row.email,
        row.display_name,
        row.role,
        row.active,
        row.token_version,
        _iso(row.created_at) or "",
        _iso(row.last_login_at),
    )


def _key(row: Any) -> ApiKeyView:
    return ApiKeyView(
        row.id,
        row.tenant_id,
        row.name,
        row.prefix,
        row.bot_name,
        list(row.scopes or []),
        row.created_by,
        _iso(row.created_at) or "",
        _iso(row.revoked_at),
        _iso(row.last_used_at),
    )


def _aware(dt: datetime | None) -> datetime | None:
    # SQLite hands datetimes back without their zone; kefu writes UTC
    if dt is not None and dt.tzinfo is None:
        from datetime import UTC

        return dt.replace(tzinfo=UTC)
    return dt


_USERS, _TOKENS, _KEYS = User.__table__, RefreshToken.__table__, ApiKey.__table__


def _revoke_family(tenant_id: str, user_id: int, family: str) -> Any:
    """One login's live tokens: the family is only ever read within its tenant and user."""
    t = _TOKENS.c
    return update(_TOKENS).where(
        t.tenant_id == tenant_id, t.user_id == user_id, t.family == family, t.revoked_at.is_(None)
    )


USER_FIELDS = ("role", "display_name", "active", "password_hash")


class AccountQueries:
    engine: Engine

    # --- users -----------------------------------------------------------------------------------
    def create_user(
        self, tenant_id: str, email: str, role: str, password_hash: str, display_name: str = "", actor: str = "cli"
    ) -> UserView:
        now = utcnow()
        try:
            with self.engine.begin() as conn:
                uid = conn.execute(
                    insert(_USERS).values(
                        tenant_id=tenant_id,
                        email=email,
                        display_name=display_name,
                        role=role,
                        password_hash=password_hash,
                        active=True,
                        token_version=0,
                        failed_logins=0,
                        created_at=now,
                    )
                ).inserted_primary_key[0]
                audit_append(conn, tenant_id, actor, "user.create", f"user:{uid}", {"role": role})
                row = conn.execute(select(_USERS).where(_USERS.c.id == uid)).one()
        except IntegrityError as e:
            raise Duplicate(email) from e
        return _user(row)

    def get_user(self, tenant_id: str, user_id: int) -> UserView | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_USERS).where(_USERS.c.id == user_id, _USERS.c.tenant_id == tenant_id)).first()
        return _user(row) if row is not None else None

    def list_users(self, tenant_id: str) -> list[UserView]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_USERS).where(_USERS.c.tenant_id == tenant_id).order_by(_USERS.c.id))
            return [_user(r) for r in rows]

    def credentials(self, tenant_id: str, email: str) -> Credentials | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_USERS).where(_USERS.c.tenant_id == tenant_id, _USERS.c.email == email)).first()
        if row is None:
            return None
        return Credentials(_user(row), row.password_hash, row.failed_logins, _aware(row.locked_until))

    def update_user(self, tenant_id: str, user_id: int, actor: str, **fields: Any) -> UserView | None:
        """Change a user; a new role, password or deactivation ends the user's logins (access and refresh)."""
        bad = set(fields) - set(USER_FIELDS)
        if bad:
            raise ValueError(f"not user fields: {sorted(bad)}")
        with self.engine.begin() as conn:
            where = (_USERS.c.id == user_id, _USERS.c.tenant_id == tenant_id)
            row = conn.execute(select(_USERS).where(*where)).first()
            if row is None:
                return None
            values = dict(fields)
            ends_logins = (
                "password_hash" in fields
                or fields.get("active") is False
                or ("role" in fields and fields["role"] != row.role)
            )
            if ends_logins:
                values["token_version"] = _USERS.c.token_version + 1
                self._revoke_user_tokens(conn, tenant_id, user_id)
            if "password_hash" in fields:
                values["failed_logins"] = 0
                values["locked_until"] = None
            if values:
                conn.execute(update(_USERS).where(*where).values(**values))
            detail = {k: v for k, v in fields.items() if k != "password_hash"}
            if "password_hash" in fields:
                detail["password"] = "changed"
            audit_append(conn, tenant_id, actor, "user.update", f"user:{user_id}", detail)
            return _user(conn.execute(select(_USERS).where(*where)).one())

    def record_login(self, tenant_id: str, user_id: int, ok: bool, locked_until: datetime | None, detail: dict) -> None:
        with self.engine.begin() as conn:
            where = (_USERS.c.id == user_id, _USERS.c.tenant_id == tenant_id)
            if ok:
                values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": utcnow()}
            else:
                values = {"failed_logins": _USERS.c.failed_logins + 1, "locked_until": locked_until}
            if conn.execute(update(_USERS).where(*where).values(**values)).rowcount != 1:
                return  # not this tenant's user: nothing to record
            audit_append(
                conn, tenant_id, f"user:{user_id}", "login" if ok else "login.failed", f"user:{user_id}", detail
            )

    def end_logins(self, tenant_id: str, user_id: int, actor: str) -> bool:
        """Log out everywhere: every refresh token revoked, every access token's version outdated."""
        with self.engine.begin() as conn:
            where = (_USERS.c.id == user_id, _USERS.c.tenant_id == tenant_id)
            n = conn.execute(update(_USERS).where(*where).values(token_version=_USERS.c.token_version + 1)).rowcount
            if not n:
                return False
            self._revoke_user_tokens(conn, tenant_id, user_id)
            audit_append(conn, tenant_id, actor, "logout.everywhere", f"user:{user_id}", {})
        return True

    # --- refresh tokens ----------------------------------------------------------------------------
    def add_refresh_token(
        self, tenant_id: str, user_id: int, token_hash: str, family: str, expires_at: datetime
    ) -> None:
        with self.engine.begin() as conn:
            owner = select(_USERS.c.id).where(_USERS.c.id == user_id, _USERS.c.tenant_id == tenant_id)
            if conn.execute(owner).first() is None:
                raise LookupError(f"no user {user_id} in tenant {tenant_id}")
            conn.execute(
                insert(_TOKENS).values(
                    tenant_id=tenant_id,
                    user_id=user_id,
                    token_hash=token_hash,
                    family=family,
                    expires_at=expires_at,
                    created_at=utcnow(),
                )
            )

    def use_refresh_token(self, token_hash: str) -> RefreshUse:
        """Rotate: the presented token is revoked and its login may get the next one. Looked up by a 256-bit
        secret's hash, which names its tenant (the tenant-isolation test lists this as such)."""
        now = utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(select(_TOKENS).where(_TOKENS.c.token_hash == token_hash)).first()
            if row is None:
                return RefreshUse("unknown")
            if row.revoked_at is not None:  # a stolen copy or a replay: the whole login ends
                conn.execute(_revoke_family(row.tenant_id, row.user_id, row.family).values(revoked_at=now))
                audit_append(conn, row.tenant_id, f"user:{row.user_id}", "refresh.reused", f"user:{row.user_id}", {})
                return RefreshUse("reused", row.tenant_id, row.user_id, row.family)
            if _aware(row.expires_at) <= now:  # type: ignore[operator]
                return RefreshUse("expired", row.tenant_id, row.user_id, row.family)
            n = conn.execute(
                update(_TOKENS).where(_TOKENS.c.id == row.id, _TOKENS.c.revoked_at.is_(None)).values(revoked_at=now)
            ).rowcount
            if n != 1:  # another request rotated it at the same moment
                return RefreshUse("reused", row.tenant_id, row.user_id, row.family)
            return RefreshUse("ok", row.tenant_id, row.user_id, row.family)

    def revoke_refresh_family(self, tenant_id: str, token_hash: str, actor: str) -> bool:
        """Log out: the login this refresh token belongs to ends."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(_TOKENS.c.family, _TOKENS.c.user_id).where(
                    _TOKENS.c.token_hash == token_hash, _TOKENS.c.tenant_id == tenant_id
                )
            ).first()
            if row is None:
                return False
            conn.execute(_revoke_family(tenant_id, row.user_id, row.family).values(revoked_at=utcnow()))
            audit_append(conn, tenant_id, actor, "logout", f"user:{row.user_id}", {})
        return True

    @staticmethod
    def _revoke_user_tokens(conn: Any, tenant_id: str, user_id: int) -> None:
        conn.execute(
            update(_TOKENS)
            .where(_TOKENS.c.user_id == user_id, _TOKENS.c.tenant_id == tenant_id, _TOKENS.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )

    # --- API keys -----------------------------------------------------------------------------------
    def create_api_key(
        self,
        tenant_id: str,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: list[str],
        bot_name: str | None,
        actor: str,
    ) -> ApiKeyView:
        with self.engine.begin() as conn:
            kid = conn.execute(
                insert(_KEYS).values(
                    tenant_id=tenant_id,
                    name=name,
                    prefix=prefix,
                    key_hash=key_hash,
                    scopes=scopes,
                    bot_name=bot_name,
                    created_by=actor,
                    created_at=utcnow(),
                )
            ).inserted_primary_key[0]
            audit_append(conn, tenant_id, actor, "key.create", f"key:{kid}", {"scopes": scopes, "bot": bot_name})
            return _key(conn.execute(select(_KEYS).where(_KEYS.c.id == kid)).one())

    def list_api_keys(self, tenant_id: str) -> list[ApiKeyView]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_KEYS).where(_KEYS.c.tenant_id == tenant_id).order_by(_KEYS.c.id))
            return [_key(r) for r in rows]

    def get_api_key(self, tenant_id: str, key_id: int) -> ApiKeyView | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_KEYS).where(_KEYS.c.id == key_id, _KEYS.c.tenant_id == tenant_id)).first()
        return _key(row) if row is not None else None

    def api_key_by_hash(self, key_hash: str) -> ApiKeyView | None:
        """A live key by its secret's hash (the secret names its tenant; listed as such in the isolation test)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(_KEYS).where(_KEYS.c.key_hash == key_hash, _KEYS.c.revoked_at.is_(None))).first()
        return _key(row) if row is not None else None

    def revoke_api_key(self, tenant_id: str, key_id: int, actor: str) -> bool:
        with self.engine.begin() as conn:
            n = conn.execute(
                update(_KEYS)
                .where(_KEYS.c.id == key_id, _KEYS.c.tenant_id == tenant_id, _KEYS.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            ).rowcount
            if n:
                audit_append(conn, tenant_id, actor, "key.revoke", f"key:{key_id}", {})
        return bool(n)

    def touch_api_keys(self, tenant_id: str, key_ids: list[int], at: datetime) -> None:
        """Last-used times, written at most once a minute per key (accounts/service.py batches them)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(_KEYS).where(_KEYS.c.tenant_id == tenant_id, _KEYS.c.id.in_(key_ids)).values(last_used_at=at)
            )
