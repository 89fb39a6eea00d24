"""Logins (/auth), users (/admin/users) and API keys (/admin/keys). Another tenant's ids answer 404."""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse

from kefu.accounts.service import AuthError, Duplicate
from kefu.admin.accounts.protocol import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    LoginRequest,
    MePublic,
    RefreshRequest,
    TokenPairPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from kefu.admin.deps import KeysAdmin, UsersAdmin
from kefu.http.auth import PrincipalDep, refused, request_ip
from kefu.http.deps import JsonBody, ServicesDep
from kefu.http.errors import ApiError, error_responses
from kefu.store.accounts import ApiKeyView, UserView

auth_router = APIRouter(prefix="/auth", tags=["auth"], responses=error_responses(400, 401, 403, 404, 422, 429))
users_router = APIRouter(
    prefix="/admin/users", tags=["admin: users"], responses=error_responses(400, 401, 403, 404, 422, 429)
)
keys_router = APIRouter(
    prefix="/admin/keys", tags=["admin: API keys"], responses=error_responses(400, 401, 403, 404, 422, 429)
)
page_router = APIRouter(include_in_schema=False)
IdPath = Annotated[int, Path(ge=1, le=2**62)]


def _user(u: UserView) -> dict:
    return {k: getattr(u, k) for k in UserPublic.model_fields}


def _key(k: ApiKeyView) -> dict:
    return {**{f: getattr(k, f) for f in ApiKeyPublic.model_fields if f != "bot"}, "bot": k.bot_name}


def _pair(pair) -> dict:  # type: ignore[no-untyped-def]
    return {
        "access_token": pair.access_token,
        "token_type": "bearer",
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
        "refresh_expires_in": pair.refresh_expires_in,
        "user": _user(pair.user),
    }


@auth_router.post(
    "/login", response_model=TokenPairPublic, dependencies=[JsonBody], responses=error_responses(413, 415)
)
async def login(body: LoginRequest, request: Request, services: ServicesDep, response: Response) -> dict:
    """E-mail and password for an access token (minutes) and a refresh token (days). Repeated failures lock the
    account for a while (429 with Retry-After), doubling each time."""
    try:
        pair = await services.accounts.login(
            body.tenant, body.email, body.password, request_ip(request, services.settings)
        )
    except AuthError as e:
        raise refused(e) from None
    response.headers["Cache-Control"] = "no-store"
    return _pair(pair)


@auth_router.post(
    "/refresh", response_model=TokenPairPublic, dependencies=[JsonBody], responses=error_responses(413, 415)
)
async def refresh(body: RefreshRequest, services: ServicesDep, response: Response) -> dict:
    """A new pair for a refresh token, which is spent: presenting it again ends that login everywhere."""
    try:
        pair = await services.accounts.refresh(body.refresh_token)
    except AuthError as e:
        raise refused(e) from None
    response.headers["Cache-Control"] = "no-store"
    return _pair(pair)


@auth_router.post("/logout", status_code=204, dependencies=[JsonBody], responses=error_responses(413, 415))
async def logout(body: RefreshRequest, who: PrincipalDep, services: ServicesDep) -> None:
    """This login ends (its refresh token and every one rotated from it)."""
    if who.kind != "user" or not await services.accounts.logout(who, body.refresh_token):
        raise ApiError(404, "not_found")


@auth_router.post("/logout-all", status_code=204)
async def logout_all(who: PrincipalDep, services: ServicesDep) -> None:
    """Every login of the caller ends, on every device: refresh tokens revoked, access tokens outdated."""
    if who.kind != "user":
        raise ApiError(403, "forbidden")
    await services.accounts.logout_everywhere(who)


@auth_router.get("/me", response_model=MePublic)
async def me(who: PrincipalDep) -> dict:
    return {
        "kind": who.kind,
        "tenant": who.tenant,
        "role": who.role,
        "permissions": sorted(who.permissions),
        "name": who.name,
    }


@users_router.get("", response_model=list[UserPublic])
async def list_users(who: UsersAdmin, services: ServicesDep) -> list:
    return [_user(u) for u in await services.store.run(services.store.list_users, who.tenant)]


@users_router.post(
    "", response_model=UserPublic, status_code=201, dependencies=[JsonBody], responses=error_responses(409, 413, 415)
)
async def create_user(body: UserCreate, who: UsersAdmin, services: ServicesDep) -> dict:
    try:
        user = await services.store.run(
            services.accounts.create_user,
            who.tenant,
            body.email,
            body.role,
            body.password,
            body.display_name,
            who.actor,
        )
    except Duplicate:
        raise ApiError(409, "conflict", "该邮箱已有账号 / A user with this e-mail exists") from None
    except ValueError as e:
        raise ApiError(422, "invalid_request", str(e)) from None
    return _user(user)


@users_router.get("/{user_id}", response_model=UserPublic)
async def get_user(user_id: IdPath, who: UsersAdmin, services: ServicesDep) -> dict:
    user = await services.store.run(services.store.get_user, who.tenant, user_id)
    if user is None:
        raise ApiError(404, "not_found")
    return _user(user)


@users_router.patch(
    "/{user_id}", response_model=UserPublic, dependencies=[JsonBody], responses=error_responses(413, 415)
)
async def update_user(user_id: IdPath, body: UserUpdate, who: UsersAdmin, services: ServicesDep) -> dict:
    """A new role, a new password or deactivation ends the user's logins at once."""
    fields = body.model_dump(exclude_none=True)
    if (
        who.kind == "user"
        and user_id == who.subject
        and (fields.get("role", "admin") != "admin" or fields.get("active") is False)
    ):
        raise ApiError(422, "invalid_request", "不能降低或停用自己的管理员账号 / You cannot demote or disable yourself")
    try:
        user = await services.store.run(services.accounts.update_user, who.tenant, user_id, who.actor, **fields)
    except ValueError as e:
        raise ApiError(422, "invalid_request", str(e)) from None
    if user is None:
        raise ApiError(404, "not_found")
    return _user(user)


@users_router.post("/{user_id}/logout-all", status_code=204)
async def user_logout_all(user_id: IdPath, who: UsersAdmin, services: ServicesDep) -> None:
    if not await services.accounts.logout_everywhere(who, user_id):
        raise ApiError(404, "not_found")


@keys_router.get("", response_model=list[ApiKeyPublic])
async def list_keys(who: KeysAdmin, services: ServicesDep) -> list:
    return [_key(k) for k in await services.store.run(services.store.list_api_keys, who.tenant)]


@keys_router.post(
    "", response_model=ApiKeyCreated, status_code=201, dependencies=[JsonBody], responses=error_responses(413, 415)
)
async def create_key(body: ApiKeyCreate, who: KeysAdmin, services: ServicesDep, response: Response) -> dict:
    """The key is in this response only; kefu keeps its hash. Send it as `Authorization: Bearer kf_...`."""
    if body.bot is not None and body.bot not in await services.store.run(services.store.bot_names, who.tenant):
        raise ApiError(404, "not_found", "没有这个机器人 / No such bot profile")
    secret, view = await services.accounts.create_key(
        who.tenant, body.name.strip(), list(body.scopes), body.bot, who.actor
    )
    response.headers["Cache-Control"] = "no-store"
    return {**_key(view), "key": secret}


@keys_router.get("/{key_id}", response_model=ApiKeyPublic)
async def get_key(key_id: IdPath, who: KeysAdmin, services: ServicesDep) -> dict:
    view = await services.store.run(services.store.get_api_key, who.tenant, key_id)
    if view is None:
        raise ApiError(404, "not_found")
    return _key(view)


@keys_router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: IdPath, who: KeysAdmin, services: ServicesDep) -> None:
    if not await services.accounts.revoke_key(who, key_id):
        raise ApiError(404, "not_found")


@page_router.get("/login", response_class=HTMLResponse)
async def login_page() -> HTMLResponse:
    """The login page of the admin pages and the agent console (zh / en)."""
    html = files("kefu.admin.accounts").joinpath("static/login.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Cache-Control": "no-cache", "X-Frame-Options": "DENY"})
