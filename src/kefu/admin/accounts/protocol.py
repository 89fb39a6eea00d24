"""Wire types of the accounts API (XCreate / XUpdate / XPublic families, as in the FastAPI template)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from kefu.http.validators import ID_PATTERN, NO_NUL
from kefu.ops.auth.passwords import MAX_LENGTH, MIN_LENGTH

Role = Literal["admin", "supervisor", "agent", "viewer"]
Scope = Literal["chat", "kb:read", "kb:write", "admin"]
# Explicit characters, not \s: the schema's reader (Python) and the validator (Rust regex) disagree on \s.
EMAIL = r"^[^ \t\r\n@\x00]{1,64}@[^ \t\r\n@\x00]{1,189}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_In):
    tenant: str = Field("default", pattern=ID_PATTERN, description="租户 / The tenant")
    email: str = Field(max_length=254, pattern=EMAIL)
    password: str = Field(min_length=1, max_length=256, pattern=NO_NUL)


class RefreshRequest(_In):
    refresh_token: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")


class UserPublic(BaseModel):
    id: int
    email: str
    display_name: str
    role: Role
    active: bool
    created_at: str
    last_login_at: str | None


class TokenPairPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: UserPublic


class MePublic(BaseModel):
    kind: Literal["user", "api_key", "bootstrap"]
    tenant: str
    role: str | None
    permissions: list[str]
    name: str


class UserCreate(_In):
    email: str = Field(max_length=254, pattern=EMAIL)
    role: Role
    password: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH, pattern=NO_NUL)
    display_name: str = Field("", max_length=100, pattern=NO_NUL)


class UserUpdate(_In):
    role: Role | None = None
    display_name: str | None = Field(None, max_length=100, pattern=NO_NUL)
    active: StrictBool | None = None
    password: str | None = Field(None, min_length=MIN_LENGTH, max_length=MAX_LENGTH, pattern=NO_NUL)


class ApiKeyCreate(_In):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00]*\S[^\x00]*$")
    scopes: list[Scope] = Field(min_length=1, max_length=4)
    bot: str | None = Field(None, pattern=ID_PATTERN, description="只用于这个机器人 / Only for this bot profile")


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    prefix: str
    bot: str | None
    scopes: list[str]
    created_by: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="只显示这一次 / Shown only this once: kefu keeps its hash")
