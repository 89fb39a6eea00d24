"""Knowledge admin API: list, import, edit, delete, search. Every change reaches the next question."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile
from pydantic import WithJsonSchema

from kefu.admin.deps import KbReader, KbWriter
from kefu.admin.knowledge.protocol import DocumentPublic, FaqList, FaqPublic, FaqUpsert, ImportReportPublic, SearchHit
from kefu.http.deps import JsonBody, ServicesDep
from kefu.http.errors import ApiError, error_responses
from kefu.knowledge.importer import import_sources_async
from kefu.knowledge.loaders import detect_lang
from kefu.store.knowledge import FaqRecord

router = APIRouter(
    prefix="/admin/kb",
    tags=["admin: knowledge"],
    responses=error_responses(400, 401, 403, 404, 422, 429),  # bad header, no/wrong credential, role, unknown entry
)
KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
_KEY = re.compile(KEY_PATTERN)
KeyPath = Annotated[str, Path(pattern=KEY_PATTERN, description="条目编号 / The entry's key")]
# Any bytes are a file (the report says which could not be read): the schema states no type to violate.
AnyFile = Annotated[UploadFile, WithJsonSchema({"contentMediaType": "application/octet-stream"})]
Files = Annotated[list[AnyFile], File(min_length=1, description="FAQ 表格与文档 / FAQ tables and documents")]


def _key(key: str) -> str:
    if not _KEY.match(key):
        raise ApiError(422, "invalid_request", "条目编号格式错误 / Invalid entry key")
    return key


@router.get("/faqs", response_model=FaqList)
async def list_faqs(
    who: KbReader,
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict:
    items = await services.store.run(services.store.list_faq, who.tenant, offset, limit)
    return {"items": [r.__dict__ for r in items], "offset": offset, "count": len(items)}


@router.get("/faqs/{key}", response_model=FaqPublic)
async def get_faq(key: KeyPath, who: KbReader, services: ServicesDep) -> dict:
    rec = await services.store.run(services.store.get_faq, who.tenant, _key(key))
    if rec is None:
        raise ApiError(404, "not_found")
    return rec.__dict__


@router.put("/faqs/{key}", response_model=FaqPublic, dependencies=[JsonBody], responses=error_responses(413, 415))
async def put_faq(key: KeyPath, body: FaqUpsert, who: KbWriter, services: ServicesDep) -> dict:
    rec = FaqRecord(
        key=_key(key),
        question=body.question.strip(),
        answer=body.answer.strip(),
        lang=body.lang or detect_lang(body.question),
        category=body.category,
        similar=body.similar,
        tags=body.tags,
    )
    await services.store.run(services.store.upsert_faq, who.tenant, [rec], who.actor)
    return rec.__dict__


@router.delete("/faqs/{key}", status_code=204)
async def delete_faq(key: KeyPath, who: KbWriter, services: ServicesDep) -> None:
    if not await services.store.run(services.store.delete_faq, who.tenant, _key(key), who.actor):
        raise ApiError(404, "not_found")


@router.get("/documents", response_model=list[DocumentPublic])
async def list_documents(who: KbReader, services: ServicesDep) -> list:
    return [d.__dict__ for d in await services.store.run(services.store.list_documents, who.tenant)]


@router.delete("/documents/{document_id}", status_code=204)
async def delete_document(
    document_id: Annotated[int, Path(ge=1, le=2**62)], who: KbWriter, services: ServicesDep
) -> None:
    if not await services.store.run(services.store.delete_document, who.tenant, document_id, who.actor):
        raise ApiError(404, "not_found")


@router.post("/import", response_model=ImportReportPublic, responses=error_responses(413))
async def import_files(files: Files, who: KbWriter, services: ServicesDep) -> dict:
    """Multipart upload of FAQ tables and documents; the report lists what failed and why. The files are parsed
    off the database thread; the indexes of the new version build in the background while the old one answers."""
    most = services.settings.max_upload_files
    if len(files) > most:
        raise ApiError(413, "too_many_files", f"一次最多 {most} 个文件 / At most {most} files per import")
    limit = services.settings.max_upload_bytes
    sources: list[tuple[str, bytes]] = []
    for f in files:
        data = await f.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, "body_too_large", f"{f.filename}: 文件过大 / file larger than {limit} bytes")
        sources.append(((f.filename or "upload").replace("/", "_")[-200:], data))
    result = await import_sources_async(services.store, who.tenant, sources, who.actor)
    return result.public()


@router.get("/search", response_model=list[SearchHit])
async def search(
    who: KbReader,
    services: ServicesDep,
    q: Annotated[str, Query(min_length=1, max_length=4000)],
    k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list:
    hits = await services.kb.search(who.tenant, q, k)
    return [{"id": h.id, "kind": h.kind, "title": h.title, "snippet": h.snippet(), "score": h.score} for h in hits]
