"""The instance's own endpoints: liveness, readiness and Prometheus metrics (docs/operations.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from kefu.engines.base import Engine
from kefu.http.deps import ServicesDep
from kefu.http.errors import error_responses
from kefu.ops import metrics
from kefu.services import Services

log = logging.getLogger(__name__)
router = APIRouter(tags=["ops"])

# Each check of /readyz has its own limit: a dependency that hangs answers "false" in time, never a stuck probe.
DATABASE_TIMEOUT_S = 2.0
ENGINE_TIMEOUT_S = 2.0
REDIS_TIMEOUT_S = 0.5
AMQP_TIMEOUT_S = 1.0
# A scrape of /metrics starts an engine check when the last one is older than this (kefu_engine_up).
ENGINE_PROBE_EVERY_S = 5.0


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "warming", "unavailable"]
    database: bool
    engine: bool
    knowledge: bool
    # null: not configured (no KEFU_REDIS_URL / KEFU_AMQP_URL; amqp also when aio-pika is not installed)
    redis: bool | None = None
    amqp: bool | None = None
    # the checks that failed, by name ("database", "engine", "redis", "amqp")
    failed: list[str] = []


@router.get("/healthz", response_model=Liveness, responses=error_responses())
async def healthz() -> dict:
    """Liveness: the process answers. Checks nothing else, so a slow dependency never restarts kefu."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: {
            "model": Readiness,
            "description": "未就绪：数据库不可用或知识索引在构建 / The database is down or the indexes are building",
        },
        **error_responses(),
    },
)
async def readyz(services: ServicesDep) -> JSONResponse:
    settings = services.settings
    amqp_url = _secret(getattr(settings, "amqp_url", None))
    db, engine, redis, amqp = await asyncio.gather(
        _check(lambda: _database_ok(services), DATABASE_TIMEOUT_S, "database"),
        _engine_check(services.engine),
        _check(lambda: _redis_ok(settings.redis_url), REDIS_TIMEOUT_S, "redis") if settings.redis_url else _none(),
        _amqp_check(amqp_url) if amqp_url else _none(),
    )
    if not db:
        metrics.DATABASE_ERRORS.labels("readyz").inc()
    if redis is False:
        metrics.REDIS_ERRORS.labels("readyz").inc()
    knowledge = services.kb.warmed
    # Without the engine kefu still answers (degraded), so it stays ready; the body says which. Redis (rate
    # limits, knowledge notices) and the message broker (the outbox keeps its events) have fallbacks too. Until
    # the knowledge indexes are built it is not ready: the first questions would wait for them.
    ready = db and knowledge
    status = "ok" if ready else ("warming" if db else "unavailable")
    failed = [k for k, v in (("database", db), ("engine", engine), ("redis", redis), ("amqp", amqp)) if v is False]
    body = {"status": status, "database": db, "engine": engine, "knowledge": knowledge, "redis": redis, "amqp": amqp,
            "failed": failed}  # fmt: skip
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint(services: ServicesDep) -> Response:
    with contextlib.suppress(TypeError):  # an engine object that takes no weak reference: no background check
        _probe(services.engine).maybe_start()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# -- the checks -------------------------------------------------------------------------------------------------


async def _check(run: Callable[[], Awaitable[Any]], timeout_s: float, name: str) -> bool:
    """One dependency's check under its limit: true when it answered, false when it failed or took too long."""
    try:
        async with asyncio.timeout(timeout_s):
            return bool(await run())
    except Exception as e:
        log.warning("readiness check failed", extra={"check": name, "error": f"{type(e).__name__}: {e}"[:300]})
        return False


async def _none() -> None:
    return None


async def _database_ok(services: Services) -> bool:
    def select_one() -> bool:
        with services.store.engine.connect() as c:
            c.execute(text("SELECT 1"))
        return True

    return await services.store.run(select_one)


async def _engine_check(engine: Engine) -> bool:
    """The engine's health under its limit; `kefu_engine_up` follows it."""
    with contextlib.suppress(TypeError):  # (an engine without weak references is checked all the same)
        _probe(engine).last = time.monotonic()  # a scrape need not check again right after
    ok = await _check(engine.health, ENGINE_TIMEOUT_S, "engine")
    metrics.ENGINE_UP.labels(metrics.backend_label(engine.backend)).set(1 if ok else 0)
    return ok


async def _redis_ok(url: str) -> bool:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    client = aioredis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(await client.ping())
    finally:
        await client.aclose()


async def _amqp_check(url: str) -> bool | None:
    """A connection to the broker and its close; null when aio-pika is not installed (nothing to check with)."""
    try:
        import aio_pika
    except ImportError:
        return None

    async def connect() -> bool:
        connection = await aio_pika.connect(url, timeout=AMQP_TIMEOUT_S)
        await connection.close()
        return True

    return await _check(connect, AMQP_TIMEOUT_S, "amqp")


def _secret(value: object) -> str | None:
    """A URL setting as text, whether plain or a SecretStr."""
    if value is None:
        return None
    get = getattr(value, "get_secret_value", None)
    return (get() if get is not None else str(value)) or None


class _EngineProbe:
    """Keeps `kefu_engine_up` fresh for Prometheus when nobody calls /readyz and no turn reaches the engine: a
    scrape of /metrics starts a health check in the background when the last one is older than
    ENGINE_PROBE_EVERY_S (the scrape never waits for it; the next scrape reads its result). Turns that reach
    the engine set the gauge too (engines/base.py EngineMeter)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = weakref.ref(engine)
        self.last = float("-inf")
        self.task: asyncio.Task[bool] | None = None

    def maybe_start(self) -> None:
        now = time.monotonic()
        if now - self.last < ENGINE_PROBE_EVERY_S or (self.task is not None and not self.task.done()):
            return
        self.last = now
        self.task = asyncio.create_task(self.check())

    async def check(self) -> bool:
        engine = self.engine()
        return await _engine_check(engine) if engine is not None else False


_probes: weakref.WeakKeyDictionary[Engine, _EngineProbe] = weakref.WeakKeyDictionary()


def _probe(engine: Engine) -> _EngineProbe:
    probe = _probes.get(engine)
    if probe is None:
        probe = _probes[engine] = _EngineProbe(engine)
    return probe
