"""The knowledge part's face to the rest of kefu: per-tenant FAQ indexes kept fresh from the store."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from importlib import resources

from kefu.knowledge.keyword import FaqIndex, Hit
from kefu.store.knowledge import FaqRecord
from kefu.store.repo import Store

log = logging.getLogger(__name__)


class KnowledgeBase:
    """Indexes are rebuilt when a tenant's knowledge version changes. The version (one primary-key
    read) is checked before every question by default (`refresh_s=0`), so an edit made through any
    instance answers the very next question everywhere; a larger `refresh_s` trades that for fewer reads."""

    def __init__(self, store: Store, refresh_s: float = 0.0) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._indexes: dict[str, tuple[object, FaqIndex, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def search(self, tenant_id: str, text: str, k: int = 3) -> list[Hit]:
        if k <= 0:
            return []
        return (await self.index(tenant_id)).search(text, k)

    async def index(self, tenant_id: str) -> FaqIndex:
        cached = self._indexes.get(tenant_id)
        now = time.monotonic()
        if cached is not None and now - cached[2] < self.refresh_s:
            return cached[1]
        version = await self.store.run(self.store.kb_version, tenant_id)
        if cached is not None and cached[0] == version:
            self._indexes[tenant_id] = (version, cached[1], now)
            return cached[1]
        async with self._locks.setdefault(tenant_id, asyncio.Lock()):  # one rebuild at a time
            cached = self._indexes.get(tenant_id)
            if cached is not None and cached[0] == version:
                return cached[1]
            entries = await self.store.run(self.store.list_faq, tenant_id)
            idx = FaqIndex(entries)
            self._indexes[tenant_id] = (version, idx, time.monotonic())
            log.info("knowledge index built", extra={"tenant": tenant_id, "entries": len(entries), "version": version})
            return idx

    def invalidate(self, tenant_id: str) -> None:
        self._indexes.pop(tenant_id, None)


def demo_faq() -> list[FaqRecord]:
    """The demo online-shop FAQ shipped with kefu (Chinese and English)."""
    raw = json.loads(resources.files("kefu.knowledge").joinpath("demo/faq.json").read_text("utf-8"))
    return [
        FaqRecord(
            key=e["id"],
            question=e["question"],
            answer=e["answer"],
            lang=e.get("lang", "zh"),
            category=e.get("category", ""),
            similar=list(e.get("similar", [])),
            tags=list(e.get("tags", [])),
        )
        for e in raw
    ]


def load_demo_if_empty(store: Store, tenant_id: str = "default") -> int:
    if store.faq_count(tenant_id) > 0:
        return 0
    n = store.upsert_faq(tenant_id, demo_faq())
    log.info("demo knowledge base loaded", extra={"tenant": tenant_id, "entries": n})
    return n
