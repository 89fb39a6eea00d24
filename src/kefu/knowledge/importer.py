"""Import files into a tenant's knowledge base: FAQ tables become entries, documents become chunks.
One bad file never stops the batch; the result names each failure and its reason."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePath

from kefu.knowledge.chunking import chunk_document
from kefu.knowledge.loaders import Failure, LoadError, Source, load_path
from kefu.ops import metrics
from kefu.store.repo import Store

log = logging.getLogger(__name__)


@dataclass
class ImportedFile:
    name: str
    kind: str  # "faq" | "document"
    faqs: int = 0
    chunks: int = 0


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

    def public(self) -> dict:
        return {
            "imported": [f.__dict__ for f in self.files],
            "failed": [{"file": PurePath(f.path).name, "reason": f.reason} for f in self.failed],
            "faqs": self.faqs,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
        }


def import_sources(
    store: Store,
    tenant_id: str,
    sources: Iterable[Source],
    on_file: Callable[[str, ImportedFile | Failure], None] | None = None,
) -> ImportResult:
    """Load, chunk and store each source (a path, or a (name, bytes) pair from an upload)."""
    started = time.perf_counter()
    result = ImportResult()
    for src in sources:
        name, data = (src[0], src[1]) if isinstance(src, tuple) else (str(src), None)
        outcome: ImportedFile | Failure
        try:
            loaded = load_path(name, data)
            if isinstance(loaded, list):
                n = store.upsert_faq(tenant_id, loaded)
                outcome = ImportedFile(PurePath(name).name, "faq", faqs=n)
            else:
                chunks = chunk_document(loaded)
                store.replace_document(
                    tenant_id,
                    loaded.source,
                    loaded.title,
                    loaded.format,
                    loaded.checksum,
                    [(c.section, c.text) for c in chunks],
                )
                outcome = ImportedFile(PurePath(name).name, "document", chunks=len(chunks))
            result.files.append(outcome)
        except LoadError as e:
            outcome = Failure(name, e.reason)
            result.failed.append(outcome)
            log.info("import failed", extra={"file": PurePath(name).name, "reason": e.reason})
        except Exception as e:  # a parser's own bug must not stop the batch either
            outcome = Failure(name, f"could not be read ({type(e).__name__}) (文件无法读取)")
            result.failed.append(outcome)
            log.exception("import failed unexpectedly", extra={"file": PurePath(name).name})
        if on_file is not None:
            on_file(name, outcome)
    result.seconds = time.perf_counter() - started
    metrics.KB_IMPORTED.labels("faq").inc(result.faqs)
    metrics.KB_IMPORTED.labels("chunk").inc(result.chunks)
    return result
