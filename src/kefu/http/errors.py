"""Errors as the customer sees them: a JSON body with a code and a bilingual message, a fitting
status, a log line, and never a stack trace."""

from __future__ import annotations

import logging
import uuid

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kefu.ops import metrics
from kefu.ops.logging import request_id_var, session_id_var

log = logging.getLogger(__name__)

MESSAGES: dict[str, str] = {
    "invalid_json": "请求不是有效的 JSON / The request body is not valid JSON",
    "invalid_request": "请求字段缺失或类型错误 / Missing or invalid fields",
    "empty_text": "消息不能为空 / The message text is empty",
    "text_too_long": "消息过长 / The message is too long",
    "body_too_large": "请求体过大 / The request body is too large",
    "unsupported_media_type": "请使用 application/json / Content-Type must be application/json",
    "unknown_session": "会话不存在 / Unknown session",
    "unknown_tenant": "租户不存在 / Unknown tenant",
    "not_found": "未找到 / Not found",
    "method_not_allowed": "不支持的请求方法 / Method not allowed",
    "internal_error": "服务暂时出错，请稍后再试 / Something went wrong, please try again",
    "unauthorized": "需要登录或有效的 API 密钥 / Log in or send a valid API key",
    "forbidden": "无权进行此操作 / Not allowed",
    "rate_limited": "请求过于频繁，请稍后再试 / Too many requests; try again later",
    "conflict": "已存在 / Already exists",
    "origin_not_allowed": "此网站不能使用该客服 / This site may not use this bot",
    "unavailable": "服务暂时不可用，请稍后再试 / The service is temporarily unavailable, please try again shortly",
}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error a client sees; declared in the OpenAPI document so generated clients parse it."""

    error: ErrorDetail


# What each error status means on kefu's routes, as the OpenAPI document states it.
_STATUS_TEXT = {
    400: "请求无效（JSON 或请求头格式错误） / Invalid JSON or header",
    401: "需要登录或有效的 API 密钥 / Log in or send a valid API key",
    403: "无权访问 / Forbidden",
    404: "会话、租户或条目不存在 / Unknown session, tenant or entry",
    409: "已存在 / Already exists",
    413: "请求体或消息过长 / Body or message too large",
    415: "请使用 application/json / Content-Type must be application/json",
    422: "字段缺失或无效 / Missing or invalid fields",
    429: "请求过于频繁（见 Retry-After） / Too many requests (see Retry-After)",
    500: "服务内部错误 / Internal error",
    503: "服务暂时不可用（数据库不可达，见 Retry-After） / Unavailable: the database is unreachable (see Retry-After)",
}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """`responses=` for a route: the error statuses it really answers with, each with the ErrorBody model.
    500 and 503 are added everywhere: the last-resort handler and the database's can answer any route."""
    return {s: {"model": ErrorBody, "description": _STATUS_TEXT[s]} for s in sorted({*statuses, 500, 503})}


# How long a client is asked to wait after a 503: the database pool reconnects on the next checkout.
RETRY_AFTER_S = 5


def database_unavailable(exc: BaseException) -> bool:
    """The database is unreachable, its connection broke mid-statement, or no pooled connection came free in time:
    a moment later the same request may well succeed. (A constraint or a bad statement is a bug: not this.)"""
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
    return isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError)


def failure_code(exc: BaseException) -> str:
    """The code of an error event for a reply that failed after its status line went out."""
    return "unavailable" if database_unavailable(exc) else "internal_error"


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(code)
        self.status, self.code, self.headers = status, code, headers
        self.message = message or MESSAGES.get(code, code)


def error_body(code: str, message: str | None = None) -> dict:
    return {"error": {"code": code, "message": message or MESSAGES.get(code, code)}}


def error_response(status: int, code: str, message: str | None = None) -> JSONResponse:
    if status < 500:
        metrics.INPUT_REJECTED.labels(code).inc()
    return JSONResponse(error_body(code, message), status_code=status)


def validation_code(exc: RequestValidationError) -> tuple[int, str, str | None]:
    errors = exc.errors()
    for e in errors:
        if e.get("type") == "json_invalid":
            return 400, "invalid_json", None
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    detail = f"{MESSAGES['invalid_request']}: {where} {first.get('msg', '')}".strip()
    return 422, "invalid_request", detail[:300]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        log.info("request rejected", extra={"code": exc.code, "path": request.url.path})
        response = error_response(exc.status, exc.code, exc.message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = validation_code(exc)
        log.info("request rejected", extra={"code": code, "path": request.url.path})
        return error_response(status, code, message)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return error_response(413, "body_too_large")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, BodyTooLarge):  # FastAPI wraps errors raised while reading the body
            return error_response(413, "body_too_large")
        if exc.status_code == 400:
            return error_response(400, "invalid_request", f"{MESSAGES['invalid_request']}: {exc.detail}")
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        response = error_response(exc.status_code, code, None if code != "http_error" else str(exc.detail))
        if exc.status_code == 405:  # RFC 9110: a 405 says which methods the resource has
            response.headers["Allow"] = allowed_methods(request)
        return response

    @app.exception_handler(sa_exc.SQLAlchemyError)
    async def _database(request: Request, exc: sa_exc.SQLAlchemyError) -> JSONResponse:
        if not database_unavailable(exc):
            return await _unexpected(request, exc)
        # the database away is an operations problem, not a bug: one line, no stack trace
        log.warning(
            "database unavailable", extra={"path": request.url.path, "error": f"{type(exc).__name__}: {exc}"[:300]}
        )
        metrics.DATABASE_ERRORS.labels("request").inc()
        response = error_response(503, "unavailable")
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_response(500, "internal_error")


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette's own Allow names only the first route's): the
    methods for which the router finds a full match."""
    served = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            served.append(method)
    return ", ".join(served)


class RequestContextMiddleware:
    """Pure ASGI (no per-request task): a request id on every log line and response, a body size
    limit enforced while reading, a last-resort JSON 500, and each response counted by its status class."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, large_bodies: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Path prefixes that take larger bodies (file imports), with their own limits.
        self.large_bodies = large_bodies or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = _header(scope, b"x-request-id") or uuid.uuid4().hex[:16]
        rid = rid[:64]
        token = request_id_var.set(rid)
        stoken = session_id_var.set(None)
        if scope["type"] == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                request_id_var.reset(token)
                session_id_var.reset(stoken)
            return
        limit = self.max_body_bytes
        for prefix, big in self.large_bodies.items():
            if scope["path"].startswith(prefix):
                limit = big
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _send_json(send, 413, error_body("body_too_large"), rid)
            request_id_var.reset(token)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return msg

        async def send_with_id(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
                metrics.count_response(msg["status"])
                msg["headers"] = [*msg.get("headers", []), (b"x-request-id", rid.encode())]
            await send(msg)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except BodyTooLarge:
            if not started:
                await _send_json(send, 413, error_body("body_too_large"), rid)
        except Exception:
            log.exception("unhandled error in request")
            if not started:
                await _send_json(send, 500, error_body("internal_error"), rid)
        finally:
            request_id_var.reset(token)
            session_id_var.reset(stoken)


class BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


async def _send_json(send: Send, status: int, body: dict, rid: str) -> None:
    metrics.count_response(status)
    data = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"x-request-id", rid.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
