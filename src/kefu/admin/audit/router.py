"""Read and verify the tenant's audit log. Nothing here writes: the log is appended by the parts it records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, BeforeValidator

from kefu.admin.deps import AuditReader
from kefu.http.deps import ServicesDep
from kefu.http.errors import ApiError, error_responses

router = APIRouter(
    prefix="/admin/audit", tags=["admin: audit"], responses=error_responses(400, 401, 403, 404, 422, 429)
)


class AuditPublic(BaseModel):
    id: int
    seq: int
    at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    hash: str


class VerifyPublic(BaseModel):
    ok: bool
    checked: int
    broken_seq: int | None
    broken_id: int | None
    reason: str


def _not_a_number(v: object) -> object:
    # pydantic reads "0.5" as a Unix time; the schema says an RFC 3339 date-time, and only that is taken
    if isinstance(v, str) and v.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("an RFC 3339 date-time such as 2026-12-01T00:00:00+08:00")
    return v


When = Annotated[datetime | None, BeforeValidator(_not_a_number), Query()]


def _public(v: Any) -> dict:
    return {f: getattr(v, f) for f in AuditPublic.model_fields}


@router.get("", response_model=list[AuditPublic])
async def list_entries(
    who: AuditReader,
    services: ServicesDep,
    since: When = None,
    until: When = None,
    action: Annotated[str | None, Query(max_length=48, pattern=r"^[a-z_.]+$")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list:
    store = services.store
    rows = await store.run(
        store.audit_entries, who.tenant, since=since, until=until, action=action, offset=offset, limit=limit
    )
    return [_public(v) for v in rows]


@router.get("/verify", response_model=VerifyPublic)
async def verify(who: AuditReader, services: ServicesDep) -> dict:
    """The tenant's whole chain checked now (it streams: a long log takes a while, in bounded memory)."""
    results = await services.store.run(services.store.verify_audit, who.tenant)
    if not results:
        return {"ok": True, "checked": 0, "broken_seq": None, "broken_id": None, "reason": ""}
    r = results[0]
    return {"ok": r.ok, "checked": r.checked, "broken_seq": r.broken_seq, "broken_id": r.broken_id, "reason": r.reason}


@router.get("/{entry_id}", response_model=AuditPublic)
async def get_entry(entry_id: Annotated[int, Path(ge=1, le=2**62)], who: AuditReader, services: ServicesDep) -> dict:
    v = await services.store.run(services.store.audit_entry, who.tenant, entry_id)
    if v is None:
        raise ApiError(404, "not_found")
    return _public(v)
