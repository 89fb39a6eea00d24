"""How a tenant's index for a new knowledge version is built without stalling the tenant's customers.

The previous index keeps answering while the new one builds on one background thread at a lower CPU priority.
New texts are embedded a step at a time (about STEP_S of embedding, then a pause), because the embedder serves
one call at a time: a question's own embedding then waits behind one step, never behind a whole document.
The build reads and writes the database through the store's own thread (on SQLite, the one database thread
every turn uses), and only the CPU work stays on the build thread.

A question that finds its tenant's knowledge changed waits for the new index up to `FRESH_WAIT_S` from the
start of the build, unless the build has more new texts than a quick one (`QUICK_TEXTS`): an FAQ edit (one
text to embed) answers the very next question, a 400-page import holds nobody up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kefu.store.knowledge import ChunkRecord, FaqRecord, KnowledgeSnapshot
from kefu.store.repo import Store

log = logging.getLogger(__name__)

# how long a question waits for its tenant's new index, counted from the start of the build
FRESH_WAIT_S = 2.0
# a build with more new texts than this is large: no question waits for it
QUICK_TEXTS = 32
# each embedding step takes about this long; the pause after it lets a waiting question take the embedder
STEP_S = 0.05
PAUSE_S = 0.005
MAX_STEP = 512
# the build thread's nice increment: the turns' threads get the CPU first
BUILD_NICE = 10
# a background build that failed is not tried again for every question
BUILD_RETRY_S = 5.0


class BuildStopped(Exception):
    """The knowledge base closed while a build was running."""


def lower_priority(nice: int = BUILD_NICE) -> None:
    """Thread initialiser: Linux gives each thread its own nice value, so this lowers the build thread only."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except (AttributeError, OSError):  # not Linux, or not allowed: builds run at the normal priority
        log.debug("knowledge build thread keeps the normal priority")


class OnStoreThread:
    """The store's embedding table through the store's own thread: `CachedEmbedder.preload` reads and writes it
    from the build thread, while SQLite is only ever used from the store's database thread."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get_embeddings(self, *args: Any) -> dict[str, bytes]:
        return self._store.submit(self._store.get_embeddings, *args).result()

    def put_embeddings(self, *args: Any) -> int:
        return self._store.submit(self._store.put_embeddings, *args).result()


def read_snapshot(store: Store, tenant_id: str) -> KnowledgeSnapshot:
    """The tenant's knowledge, read on the store's thread (the caller waits: it is a build thread)."""
    return store.submit(store.knowledge_snapshot, tenant_id).result()


def count_new_texts(
    snap: KnowledgeSnapshot, old_faqs: Iterable[FaqRecord] = (), old_chunks: Iterable[ChunkRecord] = ()
) -> int:
    """How many texts of `snap` the previous index (its FAQs and chunks) did not have: about what a build will
    have to embed."""
    phrasings = [p for r in snap.faqs for p in (r.question, *r.similar)]
    old_phrasings = {p for r in old_faqs for p in (r.question, *r.similar)}
    old_texts = {c.text for c in old_chunks}
    return sum(p not in old_phrasings for p in phrasings) + sum(c.text not in old_texts for c in snap.chunks)


def embed_in_steps(
    embedder: Any, store: Store, kind: Literal["query", "passage"], texts: Sequence[str], stop: threading.Event
) -> int:
    """Give every text its vector (memory, else the store's table, else the embedder) a step at a time; a step
    grows or shrinks to take about STEP_S. Returns how many texts were embedded. `embedder`: a CachedEmbedder."""
    db = OnStoreThread(store)
    done, step, embedded = 0, 1, 0
    while done < len(texts):
        if stop.is_set():
            raise BuildStopped
        started = time.perf_counter()
        fresh = embedder.preload(db, kind, texts[done : done + step])
        done += step
        if fresh:
            embedded += fresh
            took = max(time.perf_counter() - started, 1e-4)
            step = max(1, min(MAX_STEP, round(step * STEP_S / took)))
            time.sleep(PAUSE_S)
        else:  # the vectors were there already: nothing to make room for
            step = min(MAX_STEP, step * 2)
    return embedded


@dataclass(eq=False)
class Build:
    """A tenant's build in flight. Questions wait on `settled`, set when it ends or once it turns out large."""

    loop: asyncio.AbstractEventLoop
    started: float = field(default_factory=time.monotonic)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[Any] | None = None  # the TenantIndex being built

    def large(self) -> None:
        """Called from the build thread: nobody needs to wait for this one."""
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            self.loop.call_soon_threadsafe(self.settled.set)
