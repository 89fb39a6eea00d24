"""Import files into a tenant's knowledge base: FAQ tables become entries, documents become chunks.
One bad file never stops the batch; the result names each failure and its reason."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePath

from kefu.knowledge.chunking import chunk_document
from kefu.knowledge.loaders import Document, Failure, LoadError, Source, load_path
from kefu.ops import metrics
from kefu.store.knowledge import FaqRecord
from kefu.store.repo import Store

log = logging.getLogger(__name__)


@dataclass
class ImportedFile:
    name: str
    kind: str  # "faq" | "document"
    faqs: int = 0
    chunks: int = 0


@dataclass
class Parsed:
    """A source read and chunked (CPU work, on any thread), ready to be written: FAQ entries or a document."""

    name: str
    faqs: list[FaqRecord] | None = None
    document: Document | None = None
    chunks: list[tuple[str, str]] = field(default_factory=list)  # (section, text)


@dataclass
class ImportResult:
    files: list[ImportedFile] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def faqs(self) -> int:
        return sum(f.faqs for f in self.files)

    @property
    def chunks(self) -> int:
        return sum(f.chunks for f in self.files)

    def add(self, outcome: ImportedFile | Failure) -> None:
        (self.files if isinstance(outcome, ImportedFile) else self.failed).append(outcome)  # type: ignore[arg-type]

    def finish(self, started: float) -> ImportResult:
        self.seconds = time.perf_counter() - started
        metrics.KB_IMPORTED.labels("faq").inc(self.faqs)
        metrics.KB_IMPORTED.labels("chunk").inc(self.chunks)
        return self

    def public(self) -> dict:
        return {
            "imported": [f.__dict__ for f in self.files],
            "failed": [{"file": PurePath(f.path).name, "reason": f.reason} for f in self.failed],
            "faqs": self.faqs,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
        }


def parse(src: Source) -> Parsed | Failure:
    """Load and chunk one source (a path, or a (name, bytes) pair from an upload); no database involved."""
    name, data = (src[0], src[1]) if isinstance(src, tuple) else (str(src), None)
    try:
        loaded = load_path(name, data)
        if isinstance(loaded, list):
            return Parsed(name, faqs=loaded)
        return Parsed(name, document=loaded, chunks=[(c.section, c.text) for c in chunk_document(loaded)])
    except LoadError as e:
        log.info("import failed", extra={"file": PurePath(name).name, "reason": e.reason})
        return Failure(name, e.reason)
    except Exception as e:  # a parser's own bug must not stop the batch either
        log.exception("import failed unexpectedly", extra={"file": PurePath(name).name})
        return Failure(name, f"could not be read ({type(e).__name__}) (文件无法读取)")


def write(store: Store, tenant_id: str, parsed: Parsed, actor: str = "system") -> ImportedFile | Failure:
    """Store one parsed source: the only part of an import that needs the database (its thread, on SQLite)."""
    name = PurePath(parsed.name).name
    try:
        if parsed.faqs is not None:
            return ImportedFile(name, "faq", faqs=store.upsert_faq(tenant_id, parsed.faqs, actor))
        doc = parsed.document
        assert doc is not None
        store.replace_document(tenant_id, doc.source, doc.title, doc.format, doc.checksum, parsed.chunks, actor)
        return ImportedFile(name, "document", chunks=len(parsed.chunks))
    except Exception as e:
        log.exception("import could not be stored", extra={"file": name})
        return Failure(parsed.name, f"could not be stored ({type(e).__name__}) (无法保存)")


def import_sources(
    store: Store,
    tenant_id: str,
    sources: Iterable[Source],
    on_file: Callable[[str, ImportedFile | Failure], None] | None = None,
    actor: str = "cli",
) -> ImportResult:
    """Load, chunk and store each source, all on the caller's thread (the CLI, start-up)."""
    started, result = time.perf_counter(), ImportResult()
    for src in sources:
        outcome = parse(src)
        if isinstance(outcome, Parsed):
            outcome = write(store, tenant_id, outcome, actor)
        result.add(outcome)
        if on_file is not None:
            on_file(str(src[0] if isinstance(src, tuple) else src), outcome)
    return result.finish(started)


async def import_sources_async(
    store: Store, tenant_id: str, sources: Iterable[Source], actor: str = "system"
) -> ImportResult:
    """The admin API's import: parsing and chunking (seconds for a long PDF) on a worker thread, so that only the
    writes take the store's thread, which on SQLite is the one every customer's turn goes through."""
    started, result = time.perf_counter(), ImportResult()
    for src in sources:
        outcome = await asyncio.to_thread(parse, src)
        if isinstance(outcome, Parsed):
            outcome = await store.run(write, store, tenant_id, outcome, actor)
        result.add(outcome)
    return result.finish(started)
