"""A knowledge change never stalls the tenant's customers: the previous index answers while a large change builds
in the background, a quick one (an FAQ edit) answers the very next question, and builds run at a lower priority
with their database work on the store's own thread."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kefu.knowledge.service import KnowledgeBase, demo_faq, load_demo_if_empty
from kefu.store.repo import Store

# a term no demo text has: only the new document answers it
TERM = "星河保障计划"


def big_document(sections: int) -> list[tuple[str, str]]:
    """(section, text) chunks of a long policy document, each text different (so each one is embedded)."""
    return [(f"第{i}条", f"{TERM}第{i}条：会员可享{i % 9 + 1}次免费检修，编号{i * 7919}。") for i in range(sections)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    s.migrate()
    s.ensure_tenant("default")
    load_demo_if_empty(s)
    yield s
    s.close()


async def ask(kb: KnowledgeBase, question: str) -> tuple[float, object]:
    """What the pipeline does per question: the version questions are answered from, then the lookup."""
    started = time.perf_counter()
    version = await kb.version("default")
    look = await kb.lookup("default", question, 3, version=version)
    return time.perf_counter() - started, look


@pytest.mark.parametrize("told", [True, False], ids=["store-listener", "version-read"])
async def test_faq_edit_answers_the_next_question(store: Store, told: bool) -> None:
    """Told by the store's listener, the new index starts building at the write; without it, the next question
    finds the new version itself and waits for the quick build."""
    kb = KnowledgeBase(store)
    if told:
        store.kb_listeners.append(kb.forget_versions)
    try:
        rec = next(r for r in demo_faq() if r.key == "zh-refund-time")
        _, before = await ask(kb, rec.question)
        rec.answer = "新规定：退款将在1个工作日内原路退回。"
        rec.similar = [*rec.similar, "钱多久能退回我的卡里"]  # one new text to embed
        store.upsert_faq("default", [rec])
        _, after = await ask(kb, "钱多久能退回我的卡里")
        assert after.version > before.version  # type: ignore[attr-defined]
        assert after.faq_answer == rec.answer  # type: ignore[attr-defined]
    finally:
        kb.close()


async def test_previous_index_answers_while_a_large_change_builds(store: Store) -> None:
    """A document of 80 chunks is many seconds of embedding: before, the next question waited for all of it. Now
    the previous version answers at once, and the new content answers once its index is ready."""
    kb = KnowledgeBase(store)
    try:
        normal, first = await ask(kb, "退款大概几天能到我账上")
        normal = min(normal, (await ask(kb, "退款大概几天能到我账上"))[0])
        store.replace_document("default", "星河保障计划.md", "星河保障计划", "markdown", "x", big_document(80))
        took, during = await ask(kb, "退款大概几天能到我账上")
        assert took < 1.0, f"the question waited {took:.2f} s for the build"
        assert during.version == first.version  # type: ignore[attr-defined]
        assert during.faq is not None and during.faq.id == "zh-refund-time"  # type: ignore[attr-defined]
        slowest, asked, during_took = took, 1, took
        stored = store.kb_version("default")
        deadline = time.monotonic() + 300
        while (await kb.index("default", first.version)).version < stored:  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "the new index was never built"
            took, _ = await ask(kb, "发票怎么开")  # questions keep coming while it builds
            slowest, asked = max(slowest, took), asked + 1
            await asyncio.sleep(0.2)
        print(f"normal {normal:.3f} s, first after the change {during_took:.3f} s, slowest {slowest:.3f} s ({asked})")
        assert asked > 3  # the build took long enough to matter
        assert slowest < 1.0, f"slowest question during the build: {slowest:.2f} s (normal {normal:.3f} s)"
        took, after = await ask(kb, f"{TERM}第7条的检修次数")
        assert after.version == stored  # type: ignore[attr-defined]
        assert any(p.kind == "chunk" and p.document == "星河保障计划.md" for p in after.passages)  # type: ignore[attr-defined]
    finally:
        kb.close()


def test_builds_run_at_a_lower_priority_and_read_on_the_store_thread(store: Store) -> None:
    """The build thread is niced; what it reads and writes goes through the store's own thread."""
    kb = KnowledgeBase(store, embedder=None)
    threads: set[str] = set()
    real = store.knowledge_snapshot

    def watched(tenant: str):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        return real(tenant)

    store.knowledge_snapshot = watched  # type: ignore[method-assign]
    try:
        nice = kb._builder.submit(os.getpriority, os.PRIO_PROCESS, 0).result()
        assert nice > os.getpriority(os.PRIO_PROCESS, 0)
        asyncio.run(kb.index("default"))
        assert threads and all(t.startswith("kefu-db") for t in threads)
    finally:
        kb.close()
