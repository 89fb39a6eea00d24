"""The store runs the same migrations and queries on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect

from kefu.store.knowledge import FaqRecord
from kefu.store.repo import Store, UnknownSession, UnknownTenant
from tests.store.turns import begin_turn


def test_schema(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {"tenants", "customers", "sessions", "messages", "bot_profiles", "faq_entries", "alembic_version"} <= tables
    cols = {c["name"] for c in inspect(store.engine).get_columns("messages")}
    assert {"role", "text", "created_at", "latency_ms", "engine", "prompt_tokens", "completion_tokens"} <= cols


def test_migrations_match_the_models(store: Store) -> None:
    """The tables the migrations make are the tables the models describe (columns, types, nullability,
    indexes): a model changed without its migration fails here, on both databases."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from kefu.store.models import Base

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], diff


def test_bot_fusion_roundtrip(store: Store) -> None:
    store.upsert_bot("acme", "sales", "你是销售顾问。", fusion="rrf", weights=(1.0, 3.0))
    ctx = store.open_turn("acme", "bob", None, "sales", 10)
    assert (ctx.bot.fusion, ctx.bot.weights) == ("rrf", (1.0, 3.0))
    store.upsert_bot("acme", "sales", "你是销售顾问。")  # back to the settings' fusion
    assert store.open_turn("acme", "bob", None, "sales", 10).bot.fusion is None


def test_turn_roundtrip_and_history(store: Store) -> None:
    ctx = begin_turn(store, "default", "alice", None, "default", "你好", 10)
    assert ctx.new_session and ctx.history == [] and ctx.bot.name == "default"
    store.finish_turn(
        "default",
        ctx.session_id,
        "您好！",
        latency_ms=12.5,
        engine="x:y",
        prompt_tokens=10,
        completion_tokens=3,
        degraded=False,
        sources=["faq-1"],
    )
    ctx2 = begin_turn(store, "default", "alice", ctx.session_id, "default", "在吗", 10)
    assert not ctx2.new_session and ctx2.customer_id == ctx.customer_id
    assert ctx2.history == [("user", "你好"), ("assistant", "您好！")]
    msgs = store.session_messages("default", ctx.session_id)
    assert [m.role for m in msgs] == ["user", "assistant", "user"]
    assert msgs[1].sources == ["faq-1"]


def test_history_limit_keeps_newest(store: Store) -> None:
    ctx = begin_turn(store, "default", None, None, "default", "m0", 4)
    for i in range(1, 8):
        begin_turn(store, "default", None, ctx.session_id, "default", f"m{i}", 4)
    last = begin_turn(store, "default", None, ctx.session_id, "default", "m8", 3)
    assert [t for _, t in last.history] == ["m5", "m6", "m7"]


def test_tenant_isolation(store: Store) -> None:
    ctx = begin_turn(store, "default", "alice", None, "default", "秘密", 10)
    with pytest.raises(UnknownSession):
        begin_turn(store, "acme", "alice", ctx.session_id, "default", "hi", 10)
    with pytest.raises(UnknownSession):
        store.session_messages("acme", ctx.session_id)
    with pytest.raises(UnknownSession):
        begin_turn(store, "default", "bob", ctx.session_id, "default", "hi", 10)
    with pytest.raises(UnknownTenant):
        begin_turn(store, "ghost", "alice", None, "default", "hi", 10)
    # Same external customer id in two tenants: two customers.
    other = begin_turn(store, "acme", "alice", None, "default", "hi", 10)
    assert other.customer_id != ctx.customer_id


def test_unknown_service_type_falls_back_to_default_bot(store: Store) -> None:
    store.upsert_bot("default", "presale", "你是售前顾问。", faq_threshold=0.95)
    assert begin_turn(store, "default", None, None, "presale", "hi", 5).bot.system_prompt == "你是售前顾问。"
    assert begin_turn(store, "default", None, None, "nope", "hi", 5).bot.name == "default"
    assert store.bot_names("default") == ["default", "presale"]


def test_faq_upsert_delete_version(store: Store) -> None:
    v0 = store.kb_version("default")
    store.upsert_faq(
        "default", [FaqRecord("a", "问题一", "答案一", similar=["问法"]), FaqRecord("b", "问题二", "答案二")]
    )
    v1 = store.kb_version("default")
    assert v1 != v0 and store.faq_count("default") == 2 and store.faq_count("acme") == 0
    store.upsert_faq("default", [FaqRecord("a", "问题一", "新答案")])
    assert [r.answer for r in store.list_faq("default")] == ["新答案", "答案二"]
    assert store.kb_version("default") != v1
    assert store.delete_faq("default", "b") and not store.delete_faq("default", "b")
    assert not store.delete_faq("acme", "a")


def test_concurrent_first_messages_of_one_customer(store: Store) -> None:
    def turn(i: int) -> int:
        return begin_turn(store, "default", "same-customer", None, "default", f"hi {i}", 5).customer_id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(turn, range(16)))
    assert len(ids) == 1


async def test_async_twins(store: Store) -> None:
    ctx = await store.run(begin_turn, store, "default", None, None, "default", "hi", 5)
    mid = await store.run(
        store.finish_turn,
        "default",
        ctx.session_id,
        "ok",
        latency_ms=1.0,
        engine=None,
        prompt_tokens=None,
        completion_tokens=None,
        degraded=True,
        sources=None,
    )
    assert mid > ctx.user_message_id


def test_bot_cache_is_bounded(store: Store) -> None:
    """The service type is the client's choice: a thousand made-up ones share the default bot's entry, and the
    cache keeps at most `bot_cache_tenants` tenants, the least recently used going first."""
    for i in range(1000):
        assert store.open_turn("default", None, None, f"made-up-{i}", 5).bot.name == "default"
    assert len(store._bot_cache) == 1
    store.bot_cache_tenants = 2
    for tenant in ("t1", "t2", "t3"):
        store.ensure_tenant(tenant)
        store.open_turn(tenant, None, None, "default", 5)
    store.open_turn("t2", None, None, "default", 5)
    assert list(store._bot_cache) == ["t3", "t2"]
