"""The instance's own endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from kefu.http.deps import ServicesDep
from kefu.http.errors import error_responses

router = APIRouter(tags=["ops"])


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "warming", "unavailable"]
    database: bool
    engine: bool
    knowledge: bool


@router.get("/healthz", response_model=Liveness, responses=error_responses())
async def healthz() -> dict:
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

    def db_ok() -> bool:
        with services.store.engine.connect() as c:
            c.execute(text("SELECT 1"))
        return True

    try:
        db = await services.store.run(db_ok)
    except Exception:
        db = False
    engine = await services.engine.health()
    knowledge = services.kb.warmed
    # Without the engine kefu still answers (degraded), so it stays ready; the body says which. Until the
    # knowledge indexes are built it is not ready: the first questions would wait for them.
    ready = db and knowledge
    status = "ok" if ready else ("warming" if db else "unavailable")
    return JSONResponse(
        {"status": status, "database": db, "engine": engine, "knowledge": knowledge},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
