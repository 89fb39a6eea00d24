"""Knowledge-base queries: FAQ entries, documents and their chunks, and the per-tenant version that
every change bumps (indexes and the answer cache key on it)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from kefu.store.audit import append as audit_append
from kefu.store.models import FaqEntry, KbChunk, KbDocument, KbEmbedding, KbVersion, utcnow

log = logging.getLogger(__name__)


@dataclass
class FaqRecord:
    key: str
    question: str
    answer: str
    lang: str = "zh"
    category: str = ""
    similar: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass
class ChunkRecord:
    id: int
    document_id: int
    document: str
    section: str
    position: int
    text: str


@dataclass
class DocumentView:
    id: int
    name: str
    title: str
    format: str
    chunks: int
    updated_at: str


@dataclass
class KnowledgeSnapshot:
    """A tenant's knowledge as one index build reads it."""

    version: int
    faqs: list[FaqRecord]
    chunks: list[ChunkRecord]


class KnowledgeQueries:
    """Mixed into `Store`; every write bumps the tenant's knowledge version in the same transaction."""

    engine: Engine

    # --- version -----------------------------------------------------------------------------
    def kb_version(self, tenant_id: str) -> int:
        with self.engine.connect() as conn:
            return _version(conn, tenant_id)

    def knowledge_snapshot(self, tenant_id: str) -> KnowledgeSnapshot:
        """Version, FAQ entries and chunks in one call (one trip to the store's thread for a build). The version is
        read first: a write landing during the reads makes the content look newer than its version, and the next
        question builds again (never the other way round)."""
        with self.engine.connect() as conn:
            version = _version(conn, tenant_id)
        return KnowledgeSnapshot(version, self.list_faq(tenant_id), self.list_chunks(tenant_id))

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction; once it has committed a change to a tenant's knowledge (`_bump`), the
        `kb_listeners` hear of it (a change feed tells the other instances)."""
        with self.engine.begin() as conn:
            yield conn
            bumped = conn.info.pop("kb_bumped", None)
        if bumped:
            for listener in getattr(self, "kb_listeners", ()):
                try:
                    listener(bumped)
                except Exception:  # a feed that is down must not fail the write that succeeded
                    log.exception("knowledge change listener failed", extra={"tenant": bumped})

    @staticmethod
    def _bump(conn: Connection, tenant_id: str, actor: str, action: str, target: str, detail: dict) -> None:
        """The new version, and the change's audit entry, in the writing transaction."""
        audit_append(conn, tenant_id, actor, action, target, detail)
        conn.info["kb_bumped"] = tenant_id
        t = KbVersion.__table__
        now = utcnow()
        res = conn.execute(update(t).where(t.c.tenant_id == tenant_id).values(version=t.c.version + 1, updated_at=now))
        if res.rowcount == 0:
            try:
                with conn.begin_nested():
                    conn.execute(insert(t).values(tenant_id=tenant_id, version=1, updated_at=now))
            except IntegrityError:  # another writer created it first
                conn.execute(
                    update(t).where(t.c.tenant_id == tenant_id).values(version=t.c.version + 1, updated_at=now)
                )

    # --- FAQ ---------------------------------------------------------------------------------
    def faq_count(self, tenant_id: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(FaqEntry).where(FaqEntry.tenant_id == tenant_id)))

    def upsert_faq(self, tenant_id: str, records: Iterable[FaqRecord], actor: str = "system") -> int:
        t = FaqEntry.__table__
        n, keys = 0, []
        with self._writing() as conn:
            for r in records:
                values = dict(
                    lang=r.lang,
                    category=r.category,
                    question=r.question,
                    similar=list(r.similar),
                    answer=r.answer,
                    tags=list(r.tags),
                    updated_at=utcnow(),
                )
                res = conn.execute(update(t).where(t.c.tenant_id == tenant_id, t.c.key == r.key).values(**values))
                if res.rowcount == 0:
                    conn.execute(insert(t).values(tenant_id=tenant_id, key=r.key, **values))
                n += 1
                if len(keys) < 20:
                    keys.append(r.key)
            if n:
                target = f"faq:{keys[0]}" if n == 1 else "faq:*"
                self._bump(conn, tenant_id, actor, "kb.faq.put", target, {"count": n, "keys": keys})
        return n

    def delete_faq(self, tenant_id: str, key: str, actor: str = "system") -> bool:
        with self._writing() as conn:
            res = conn.execute(delete(FaqEntry).where(FaqEntry.tenant_id == tenant_id, FaqEntry.key == key))
            if res.rowcount:
                self._bump(conn, tenant_id, actor, "kb.faq.delete", f"faq:{key}", {})
            return res.rowcount > 0

    def get_faq(self, tenant_id: str, key: str) -> FaqRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(FaqEntry.__table__).where(FaqEntry.tenant_id == tenant_id, FaqEntry.key == key)
            ).first()
            return _faq(row) if row is not None else None

    def list_faq(self, tenant_id: str, offset: int = 0, limit: int | None = None) -> list[FaqRecord]:
        with self.engine.connect() as conn:
            q = select(FaqEntry.__table__).where(FaqEntry.tenant_id == tenant_id).order_by(FaqEntry.id).offset(offset)
            if limit is not None:
                q = q.limit(limit)
            return [_faq(r) for r in conn.execute(q)]

    # --- documents -----------------------------------------------------------------------------
    def replace_document(
        self,
        tenant_id: str,
        name: str,
        title: str,
        fmt: str,
        content_hash: str,
        chunks: Iterable[tuple[str, str]],
        actor: str = "system",
    ) -> int:
        """Store a document and its (section, text) chunks, replacing an earlier version by name."""
        docs, chunks_t = KbDocument.__table__, KbChunk.__table__
        now = utcnow()
        with self._writing() as conn:
            conn.execute(delete(docs).where(docs.c.tenant_id == tenant_id, docs.c.name == name))
            doc_id = conn.execute(
                insert(docs).values(
                    tenant_id=tenant_id,
                    name=name,
                    title=title,
                    format=fmt,
                    content_hash=content_hash,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            rows = [
                {"tenant_id": tenant_id, "document_id": doc_id, "position": i, "section": sec, "text": text}
                for i, (sec, text) in enumerate(chunks)
            ]
            if rows:
                conn.execute(insert(chunks_t), rows)
            self._bump(
                conn,
                tenant_id,
                actor,
                "kb.document.put",
                f"document:{doc_id}",
                {"name": name[:200], "sha256": content_hash, "chunks": len(rows)},
            )
            return int(doc_id)

    def delete_document(self, tenant_id: str, document_id: int, actor: str = "system") -> bool:
        with self._writing() as conn:
            # Chunks first: SQLite only cascades with foreign keys on, which a shared file may not have.
            conn.execute(delete(KbChunk).where(KbChunk.tenant_id == tenant_id, KbChunk.document_id == document_id))
            res = conn.execute(
                delete(KbDocument).where(KbDocument.tenant_id == tenant_id, KbDocument.id == document_id)
            )
            if res.rowcount:
                self._bump(conn, tenant_id, actor, "kb.document.delete", f"document:{document_id}", {})
            return res.rowcount > 0

    def list_documents(self, tenant_id: str) -> list[DocumentView]:
        d, c = KbDocument.__table__, KbChunk.__table__
        with self.engine.connect() as conn:
            n = select(func.count()).where(c.c.document_id == d.c.id).scalar_subquery()
            rows = conn.execute(
                select(d.c.id, d.c.name, d.c.title, d.c.format, d.c.updated_at, n.label("n"))
                .where(d.c.tenant_id == tenant_id)
                .order_by(d.c.id)
            )
            return [DocumentView(r.id, r.name, r.title, r.format, int(r.n), r.updated_at.isoformat()) for r in rows]

    def list_chunks(self, tenant_id: str) -> list[ChunkRecord]:
        d, c = KbDocument.__table__, KbChunk.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(c.c.id, c.c.document_id, d.c.name, c.c.section, c.c.position, c.c.text)
                .join(d, d.c.id == c.c.document_id)
                .where(c.c.tenant_id == tenant_id)
                .order_by(c.c.document_id, c.c.position)
            )
            return [ChunkRecord(r.id, r.document_id, r.name, r.section, r.position, r.text) for r in rows]

    # --- embedding cache ---------------------------------------------------------------------
    def get_embeddings(self, model: str, kind: str, hashes: Iterable[str]) -> dict[str, bytes]:
        """The stored vectors of these text hashes (those that have one)."""
        t = KbEmbedding.__table__
        hashes = list(hashes)
        out: dict[str, bytes] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(hashes), 500):
                rows = conn.execute(
                    select(t.c.text_hash, t.c.vector).where(
                        t.c.model == model, t.c.kind == kind, t.c.text_hash.in_(hashes[i : i + 500])
                    )
                )
                out.update((r.text_hash, bytes(r.vector)) for r in rows)
        return out

    def put_embeddings(self, model: str, kind: str, rows: Iterable[tuple[str, bytes]]) -> int:
        """Store vectors; a hash another instance stored meanwhile is left as it is."""
        t = KbEmbedding.__table__
        now = utcnow()
        fresh = dict(rows)
        if not fresh:
            return 0
        have = self.get_embeddings(model, kind, fresh)
        values = [
            {"model": model, "kind": kind, "text_hash": h, "vector": v, "created_at": now}
            for h, v in fresh.items()
            if h not in have
        ]
        if not values:
            return 0
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(t), values)
        except IntegrityError:  # a concurrent build stored some of them first: the vectors are the same
            return 0
        return len(values)


def _version(conn: Connection, tenant_id: str) -> int:
    return int(conn.scalar(select(KbVersion.version).where(KbVersion.tenant_id == tenant_id)) or 0)


def _faq(row) -> FaqRecord:  # type: ignore[no-untyped-def]
    return FaqRecord(
        row.key, row.question, row.answer, row.lang, row.category, list(row.similar or []), list(row.tags or [])
    )
