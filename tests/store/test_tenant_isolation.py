"""Tenant isolation, method by method: every public method of `Store` that reads or writes a tenant's data is called
as tenant "default" with tenant "acme"'s identifiers (its session, FAQ key, document, user, key, audit entry,
refresh token, bot) and must neither return anything of acme's nor change anything of acme's; the same call as
"acme" then does see or change acme's data (a positive control: a case whose identifiers were wrong would pass the
first half for nothing and fail here). A method with no tenant is listed in NOT_TENANT_SCOPED with the reason it is
safe, and `test_every_public_method_is_covered` fails for a new public method that is in neither, so a store method
without an isolation case cannot reach CI unnoticed.

"Changes nothing of acme's" is checked on the rows themselves: `only_writes_to(store, tenant)` snapshots every row of
every table that is not the tenant's (acme's, the tenants table, the embedding cache) before the call and compares
after it, and hears which tenants the knowledge listeners were told about. After each case every foreign key between
two tenant-owned tables must join rows of one tenant (a message in another tenant's session, a chunk of another
tenant's document, a refresh token of another tenant's user...). Both run on SQLite and on the real PostgreSQL server
(the `store` fixture)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kefu.store.audit import VerifyResult
from kefu.store.knowledge import FaqRecord
from kefu.store.models import AuditEntry, Base, RefreshToken
from kefu.store.outbox import enqueue
from kefu.store.repo import Store, TurnContext, UnknownSession, UnknownTenant
from tests.store.turns import begin_turn

# Names both tenants use, each for its own object: a query that forgot its tenant would find the other's.
SHARED_FAQ = "shared"
SHARED_BOT = "sales"
SHARED_DOC = "guide.md"
SHARED_EMAIL = "owner@example.com"

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- the seed ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Side:
    """One tenant's seeded objects. Every text in them names the tenant, so "acme" in what tenant default is
    given back is a leak (default's own data never contains the word)."""

    tenant: str
    faq_key: str  # this tenant's only (SHARED_FAQ is in both)
    doc_id: int  # its SHARED_DOC
    session_id: str
    customer_ref: str
    customer_id: int
    question: str
    reply: str
    state: dict
    vault: list[tuple[str, bytes]]
    bot_name: str  # this tenant's only (SHARED_BOT is in both)
    default_bot_id: int
    user_id: int  # its SHARED_EMAIL user, who holds the refresh token
    agent_email: str  # this tenant's only
    token_hash: str
    family: str
    key_id: int
    key_hash: str
    audit_id: int  # its "test.note" entry
    dead_event: int = 0  # its dead-lettered outbox event (another one stays pending)


@dataclasses.dataclass(frozen=True)
class Seed:
    default: Side
    acme: Side


def _seed_tenant(store: Store, t: str) -> Side:
    store.update_bot(t, "default", handoff_phone=f"{t}-phone")
    store.upsert_bot(t, SHARED_BOT, f"{t} sales prompt")
    store.upsert_bot(t, f"{t}-bot", f"{t} bot prompt", fusion="rrf", weights=(1.0, 2.0))
    store.update_bot(t, f"{t}-bot", generation="off", service_hours="09:00-21:00", handoff_phone=f"{t}-bot-phone")
    store.upsert_faq(
        t,
        [
            FaqRecord(SHARED_FAQ, f"{t} shared question", f"{t} shared answer", similar=[f"{t} similar"], tags=[t]),
            FaqRecord(f"{t}-only", f"{t} only question", f"{t} only answer"),
        ],
    )
    doc_id = store.replace_document(
        t, SHARED_DOC, f"{t} guide", "md", sha(f"{t} guide"), [("intro", f"{t} chunk one"), ("body", f"{t} chunk two")]
    )
    question, reply, state = f"{t} secret question", f"{t} secret reply", {"asked": f"{t} state"}
    ctx = begin_turn(store, t, f"{t}-customer", None, SHARED_BOT, question)
    store.finish_turn(
        t,
        ctx.session_id,
        reply,
        latency_ms=5.0,
        engine="stand-in",
        prompt_tokens=3,
        completion_tokens=2,
        degraded=False,
        sources=[f"{t}-only"],
        state=state,
        handoff=f"{t}-reason",
    )
    vault = [("phone", f"{t}-sealed-phone".encode())]
    store.vault_put(t, ctx.session_id, vault, ctx.user_message_id)
    store.record_match_labels(t, f"{t} question", [(f"{t}-only", 1), (SHARED_FAQ, 0)], "clarify_pick")
    owner = store.create_user(t, SHARED_EMAIL, "admin", f"hash-of-{t}-owner", f"{t} owner")
    store.create_user(t, f"{t}-agent@example.com", "agent", f"hash-of-{t}-agent", f"{t} agent")
    token_hash, family = sha(f"{t}-refresh"), f"{t}-family"
    store.add_refresh_token(t, owner.id, token_hash, family, datetime.now(UTC) + timedelta(days=1))
    key_hash = sha(f"{t}-api-key")
    key = store.create_api_key(t, f"{t} widget", f"{t}-pfx", key_hash, ["chat"], SHARED_BOT, "cli")
    store.audit(t, "cli", "test.note", f"note:{t}", {"who": t})
    with store.engine.connect() as conn:
        audit_id = conn.scalar(select(AuditEntry.id).where(AuditEntry.tenant_id == t, AuditEntry.action == "test.note"))
    assert ctx.customer_id is not None and audit_id is not None
    with store.engine.begin() as conn:
        enqueue(conn, t, "webhook", {"who": f"{t} pending payload"}, key=f"{t}-ev1")
        dead_event = enqueue(conn, t, "webhook", {"who": f"{t} dead payload"}, key=f"{t}-ev2")
    store.mark_failed(dead_event, f"{t} error", None, dead=True)
    return Side(
        t, f"{t}-only", doc_id, ctx.session_id, f"{t}-customer", ctx.customer_id, question, reply, state, vault,
        f"{t}-bot", store.bot(t, "default").id, owner.id, f"{t}-agent@example.com", token_hash, family, key.id,
        key_hash, audit_id, dead_event,
    )  # fmt: skip


def make_seed(store: Store) -> Seed:
    seed = Seed(_seed_tenant(store, "default"), _seed_tenant(store, "acme"))
    # acme one knowledge write ahead: its version, FAQ count and audit chain length all differ from default's
    store.upsert_faq("acme", [FaqRecord("acme-extra", "acme extra question", "acme extra answer")])
    return seed


# --- the checks -------------------------------------------------------------------------------------------------


def _rows(store: Store, tenant: str | None) -> dict[str, list[tuple]]:
    """Every row of every table, less the tenant's own (None: all of them), in primary-key order."""
    out: dict[str, list[tuple]] = {}
    with store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            q = select(table).order_by(*table.primary_key.columns)
            if tenant is not None and "tenant_id" in table.c:
                q = q.where(table.c.tenant_id != tenant)
            out[table.name] = [tuple(r) for r in conn.execute(q)]
    return out


def _changes(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> list[str]:
    out = []
    for name, rows in before.items():
        if rows != after[name]:
            gone = [r for r in rows if r not in after[name]]
            new = [r for r in after[name] if r not in rows]
            out.append(f"{name}: removed/changed {gone!r:.600} added/changed {new!r:.600}")
    return out


@contextmanager
def only_writes_to(store: Store, tenant: str | None) -> Iterator[None]:
    """The block changes no row that is not `tenant`'s (None: no row at all), and tells the knowledge listeners
    about no other tenant."""
    heard: list[str] = []
    store.kb_listeners.append(heard.append)
    before = _rows(store, tenant)
    try:
        yield
    finally:
        store.kb_listeners.remove(heard.append)
    changed = _changes(before, _rows(store, tenant))
    owner = "nothing may change" if tenant is None else f"only tenant {tenant!r}'s rows may change"
    assert not changed, f"{owner}, but: " + "; ".join(changed)
    assert all(t == tenant for t in heard), f"knowledge listeners told about {heard} ({owner})"


def assert_no_cross_tenant_links(store: Store) -> None:
    """Every foreign key from a tenant-owned row to another tenant-owned row stays inside one tenant."""
    bad = []
    with store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if "tenant_id" not in table.c:
                continue
            for fk in table.foreign_keys:
                parent = fk.column.table
                if fk.parent.name == "tenant_id" or "tenant_id" not in parent.c:
                    continue
                q = (
                    select(table.c.tenant_id, fk.parent, parent.c.tenant_id)
                    .join(parent, fk.parent == fk.column)
                    .where(table.c.tenant_id != parent.c.tenant_id)
                )
                bad += [f"{table.name}.{fk.parent.name} -> {parent.name}: {tuple(r)}" for r in conn.execute(q)]
    assert not bad, f"rows linking two tenants: {bad}"


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode(errors="replace")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _texts(getattr(value, f.name))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(k)
            yield from _texts(v)
    elif isinstance(value, list | tuple | set):
        for v in value:
            yield from _texts(v)


def nothing_of_acme(value: Any) -> None:
    """No text of acme's anywhere in what tenant default was given."""
    found = [t for t in _texts(value) if "acme" in t]
    assert not found, f"acme's data given to tenant default: {found}"


def _audit_count(store: Store, tenant: str, action_prefix: str = "") -> int:
    with store.engine.connect() as conn:
        actions = conn.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == tenant)).all()
    return sum(a.startswith(action_prefix) for a in actions)


def _token(store: Store, token_hash: str) -> tuple:
    """(tenant, revoked_at) of a refresh token."""
    t = RefreshToken.__table__
    with store.engine.connect() as conn:
        return tuple(conn.execute(select(t.c.tenant_id, t.c.revoked_at).where(t.c.token_hash == token_hash)).one())


LATER = datetime.now(UTC) + timedelta(days=1)
REPLY = dict(latency_ms=1.0, engine="stand-in", prompt_tokens=1, completion_tokens=1, degraded=False, sources=None)


# --- the cases: one per tenant-scoped method ------------------------------------------------------------------

CASES: dict[str, Callable[[Store, Seed], None]] = {}


def covers(method: str) -> Callable[[Callable[[Store, Seed], None]], Callable[[Store, Seed], None]]:
    def register(fn: Callable[[Store, Seed], None]) -> Callable[[Store, Seed], None]:
        assert method not in CASES, method
        CASES[method] = fn
        return fn

    return register


# conversations


@covers("open_turn")
def _open_turn(store: Store, seed: Seed) -> None:
    a, d = seed.acme, seed.default
    with only_writes_to(store, None):
        with pytest.raises(UnknownSession):
            store.open_turn("default", None, a.session_id, "default", 10)
        with pytest.raises(UnknownSession):
            store.open_turn("default", a.customer_ref, a.session_id, "default", 10)
        with pytest.raises(UnknownSession):  # default's customer in acme's session, as acme: not its customer
            store.open_turn("acme", d.customer_ref, a.session_id, "default", 10)
        fresh = store.open_turn("default", a.customer_ref, None, a.bot_name, 10)
    assert (fresh.tenant_id, fresh.customer_id, fresh.history, fresh.bot.id) == ("default", None, [], d.default_bot_id)
    mine = store.open_turn("default", d.customer_ref, d.session_id, "default", 10)
    nothing_of_acme(mine)
    # positive control
    ctx = store.open_turn("acme", a.customer_ref, a.session_id, "default", 10)
    assert ctx.history == [("user", a.question), ("assistant", a.reply)]
    assert (ctx.customer_id, ctx.state, ctx.mode, ctx.bot.system_prompt) == (
        a.customer_id, a.state, "pending", "acme sales prompt",
    )  # fmt: skip


@covers("open_turn_async")
def _open_turn_async(store: Store, seed: Seed) -> None:
    a, d = seed.acme, seed.default
    store.bot("default", "default")  # both tenants' bots cached: a new session takes the no-query path
    store.bot("acme", "default")
    with only_writes_to(store, None):
        with pytest.raises(UnknownSession):
            asyncio.run(store.open_turn_async("default", None, a.session_id, "default", 10))
        with pytest.raises(UnknownSession):
            asyncio.run(store.open_turn_async("default", a.customer_ref, a.session_id, a.bot_name, 10))
        fresh = asyncio.run(store.open_turn_async("default", a.customer_ref, None, a.bot_name, 10))
    assert (fresh.tenant_id, fresh.customer_id, fresh.history, fresh.bot.id) == ("default", None, [], d.default_bot_id)
    assert fresh.bot.handoff_phone == "default-phone"
    # positive control
    ctx = asyncio.run(store.open_turn_async("acme", None, a.session_id, "default", 10))
    assert ctx.history == [("user", a.question), ("assistant", a.reply)] and ctx.customer_id == a.customer_id
    assert asyncio.run(store.open_turn_async("acme", None, None, a.bot_name, 10)).bot.system_prompt == "acme bot prompt"


@covers("record_customer_message")
def _record_customer_message(store: Store, seed: Seed) -> None:
    a = seed.acme
    bot = store.bot("default", "default")
    forged = TurnContext(a.session_id, "default", a.customer_id, bot, [], None, False, a.customer_ref)
    with only_writes_to(store, None), pytest.raises(UnknownSession):
        store.record_customer_message(forged, "web", "default writes into acme's session")
    # A forged "new" session with acme's id cannot take acme's session over either. (On SQLite the customer row may
    # stay behind: pysqlite emits no BEGIN before the customer look-up's SAVEPOINT, whose RELEASE then commits it. It
    # is default's own row, so only "nothing of acme's changes" is claimed here.)
    forged_new = TurnContext(a.session_id, "default", None, bot, [], None, True, "someone")
    with only_writes_to(store, "default"), pytest.raises(IntegrityError):
        store.record_customer_message(forged_new, "web", "default takes acme's session id")
    assert [m.text for m in store.session_messages("acme", a.session_id)] == [a.question, a.reply]
    # positive control
    ctx = store.open_turn("acme", a.customer_ref, a.session_id, "default", 10)
    with only_writes_to(store, "acme"):
        mid = store.record_customer_message(ctx, "web", "acme asks again")
    last = store.session_messages("acme", a.session_id)[-1]
    assert (last.id, last.role, last.text) == (mid, "user", "acme asks again")


@covers("finish_turn")
def _finish_turn(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None), pytest.raises(UnknownSession):
        store.finish_turn(
            "default", a.session_id, "default answers in acme's session", state={"x": 1}, handoff="x", **REPLY
        )
    # positive control
    with only_writes_to(store, "acme"):
        mid = store.finish_turn("acme", a.session_id, "acme answers again", **REPLY)
    last = store.session_messages("acme", a.session_id)[-1]
    assert (last.id, last.role, last.text) == (mid, "assistant", "acme answers again")


@covers("session_messages")
def _session_messages(store: Store, seed: Seed) -> None:
    a, d = seed.acme, seed.default
    with only_writes_to(store, None):
        with pytest.raises(UnknownSession):
            store.session_messages("default", a.session_id)
        mine = store.session_messages("default", d.session_id)
    assert [m.text for m in mine] == [d.question, d.reply]
    nothing_of_acme(mine)
    # positive control
    assert [m.text for m in store.session_messages("acme", a.session_id)] == [a.question, a.reply]


@covers("session_mode")
def _session_mode(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None), pytest.raises(UnknownSession):
        store.session_mode("default", a.session_id)
    # positive control
    assert store.session_mode("acme", a.session_id) == ("pending", "acme-reason")


@covers("vault_get")
def _vault_get(store: Store, seed: Seed) -> None:
    a, d = seed.acme, seed.default
    with only_writes_to(store, None):
        assert store.vault_get("default", a.session_id) == []
        assert store.vault_get("default", d.session_id) == d.vault
    # positive control
    assert store.vault_get("acme", a.session_id) == a.vault


@covers("vault_put")
def _vault_put(store: Store, seed: Seed) -> None:
    """The vault has no foreign key to the session (the guard seals before a new session's rows exist), so default
    may file a row under any session id: it is default's row, and acme's vault never shows it."""
    a = seed.acme
    with only_writes_to(store, "default"):
        assert store.vault_put("default", a.session_id, [("phone", b"default-forged")]) == 1
    assert store.vault_get("acme", a.session_id) == a.vault
    assert store.vault_get("default", a.session_id) == [("phone", b"default-forged")]
    # positive control
    with only_writes_to(store, "acme"):
        store.vault_put("acme", a.session_id, [("email", b"acme-sealed-email")])
    assert store.vault_get("acme", a.session_id) == [*a.vault, ("email", b"acme-sealed-email")]


@covers("record_match_labels")
def _record_match_labels(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, "default"):
        store.record_match_labels("default", "default asks", [(a.faq_key, 1)], "clarify_pick")
    assert ("default asks", a.faq_key, 1, "clarify_pick") in store.match_labels("default")
    # positive control
    with only_writes_to(store, "acme"):
        store.record_match_labels("acme", "acme asks", [(a.faq_key, 0)], "clarify_pick")
    assert store.match_labels("acme")[-1] == ("acme asks", a.faq_key, 0, "clarify_pick")


@covers("match_labels")
def _match_labels(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        mine = store.match_labels("default")
    assert mine == [
        ("default question", "default-only", 1, "clarify_pick"),
        ("default question", SHARED_FAQ, 0, "clarify_pick"),
    ]
    # positive control
    assert [q for q, *_ in store.match_labels("acme")] == ["acme question", "acme question"]


# bots


@covers("bot")
def _bot(store: Store, seed: Seed) -> None:
    a, d = seed.acme, seed.default
    with only_writes_to(store, None):
        fallback = store.bot("default", a.bot_name)  # default has no such bot: its own default one
        sales = store.bot("default", SHARED_BOT)
    assert (fallback.id, fallback.handoff_phone) == (d.default_bot_id, "default-phone")
    assert sales.system_prompt == "default sales prompt"
    nothing_of_acme([fallback, sales])
    # positive control
    mine = store.bot("acme", a.bot_name)
    assert (mine.system_prompt, mine.generation, mine.handoff_phone) == ("acme bot prompt", "off", "acme-bot-phone")


@covers("bot_names")
def _bot_names(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        assert store.bot_names("default") == ["default", "default-bot", SHARED_BOT]
    # positive control
    assert store.bot_names("acme") == ["acme-bot", "default", SHARED_BOT]


@covers("list_bots")
def _list_bots(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        mine = store.list_bots("default")
    assert [b.name for b in mine] == ["default", "default-bot", SHARED_BOT]
    nothing_of_acme(mine)
    # positive control
    assert [b.name for b in store.list_bots("acme")] == ["acme-bot", "default", SHARED_BOT]


@covers("upsert_bot")
def _upsert_bot(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, "default"):
        store.upsert_bot("default", a.bot_name, "default's own bot of that name")
        store.upsert_bot("default", SHARED_BOT, "default sales v2", fusion="weighted", weights=(1.0, 1.0))
    assert store.bot("default", a.bot_name).system_prompt == "default's own bot of that name"
    assert store.bot("acme", a.bot_name).system_prompt == "acme bot prompt"
    assert store.bot("acme", SHARED_BOT).system_prompt == "acme sales prompt"
    # positive control
    with only_writes_to(store, "acme"):
        store.upsert_bot("acme", a.bot_name, "acme bot v2")
    assert store.bot("acme", a.bot_name).system_prompt == "acme bot v2"


@covers("update_bot")
def _update_bot(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None), pytest.raises(UnknownTenant):
        store.update_bot("default", a.bot_name, generation="on")
    with only_writes_to(store, "default"):
        store.update_bot("default", SHARED_BOT, handoff_phone="default-sales-phone")
    assert store.bot("default", SHARED_BOT).handoff_phone == "default-sales-phone"
    assert store.bot("acme", SHARED_BOT).handoff_phone is None
    # positive control
    with only_writes_to(store, "acme"):
        store.update_bot("acme", a.bot_name, generation="on")
    assert store.bot("acme", a.bot_name).generation == "on"


# knowledge


@covers("kb_version")
def _kb_version(store: Store, seed: Seed) -> None:
    # every knowledge write bumps the version once and appends one kb.* audit entry
    mine, theirs = _audit_count(store, "default", "kb."), _audit_count(store, "acme", "kb.")
    assert mine != theirs
    with only_writes_to(store, None):
        assert store.kb_version("default") == mine
    # positive control
    assert store.kb_version("acme") == theirs


@covers("knowledge_snapshot")
def _knowledge_snapshot(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        snap = store.knowledge_snapshot("default")
    assert snap.version == _audit_count(store, "default", "kb.")
    assert [f.key for f in snap.faqs] == [SHARED_FAQ, "default-only"]
    assert {c.document_id for c in snap.chunks} == {seed.default.doc_id}
    nothing_of_acme(snap)
    # positive control
    theirs = store.knowledge_snapshot("acme")
    assert theirs.version == _audit_count(store, "acme", "kb.")
    assert [f.key for f in theirs.faqs] == [SHARED_FAQ, "acme-only", "acme-extra"]
    assert [c.text for c in theirs.chunks] == ["acme chunk one", "acme chunk two"]


@covers("faq_count")
def _faq_count(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        assert store.faq_count("default") == 2
    # positive control
    assert store.faq_count("acme") == 3


@covers("list_faq")
def _list_faq(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        mine = store.list_faq("default")
        page = store.list_faq("default", offset=1, limit=5)
    assert [f.key for f in mine] == [SHARED_FAQ, "default-only"] and [f.key for f in page] == ["default-only"]
    nothing_of_acme([mine, page])
    # positive control
    assert [f.answer for f in store.list_faq("acme", offset=1, limit=1)] == ["acme only answer"]


@covers("get_faq")
def _get_faq(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None):
        assert store.get_faq("default", a.faq_key) is None
        shared = store.get_faq("default", SHARED_FAQ)
    assert shared is not None and shared.answer == "default shared answer"
    nothing_of_acme(shared)
    # positive control
    assert (f := store.get_faq("acme", a.faq_key)) is not None and f.answer == "acme only answer"


@covers("upsert_faq")
def _upsert_faq(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, "default"):
        n = store.upsert_faq(
            "default",
            [FaqRecord(a.faq_key, "default's own", "default's own answer"), FaqRecord(SHARED_FAQ, "q", "default v2")],
        )
    assert n == 2 and store.get_faq("default", a.faq_key).answer == "default's own answer"  # type: ignore[union-attr]
    assert store.get_faq("acme", SHARED_FAQ).answer == "acme shared answer"  # type: ignore[union-attr]
    # positive control
    with only_writes_to(store, "acme"):
        store.upsert_faq("acme", [FaqRecord(SHARED_FAQ, "q", "acme v2")])
    assert store.get_faq("acme", SHARED_FAQ).answer == "acme v2"  # type: ignore[union-attr]


@covers("delete_faq")
def _delete_faq(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None):
        assert store.delete_faq("default", a.faq_key) is False
    with only_writes_to(store, "default"):
        assert store.delete_faq("default", SHARED_FAQ) is True
    assert store.get_faq("acme", SHARED_FAQ) is not None
    # positive control
    with only_writes_to(store, "acme"):
        assert store.delete_faq("acme", a.faq_key) is True
    assert store.get_faq("acme", a.faq_key) is None


@covers("replace_document")
def _replace_document(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, "default"):
        store.replace_document("default", SHARED_DOC, "default guide v2", "md", sha("v2"), [("s", "default v2")])
    assert [(d.id, d.chunks) for d in store.list_documents("acme")] == [(a.doc_id, 2)]
    # positive control
    with only_writes_to(store, "acme"):
        new_id = store.replace_document("acme", SHARED_DOC, "acme guide v2", "md", sha("a2"), [("s", "acme v2")])
    assert [(d.id, d.title, d.chunks) for d in store.list_documents("acme")] == [(new_id, "acme guide v2", 1)]


@covers("delete_document")
def _delete_document(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None):
        assert store.delete_document("default", a.doc_id) is False
    # positive control
    with only_writes_to(store, "acme"):
        assert store.delete_document("acme", a.doc_id) is True
    assert store.list_documents("acme") == [] and store.list_chunks("acme") == []


@covers("list_documents")
def _list_documents(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        mine = store.list_documents("default")
    assert [(d.id, d.name, d.chunks) for d in mine] == [(seed.default.doc_id, SHARED_DOC, 2)]
    nothing_of_acme(mine)
    # positive control
    assert [(d.id, d.title) for d in store.list_documents("acme")] == [(seed.acme.doc_id, "acme guide")]


@covers("list_chunks")
def _list_chunks(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        mine = store.list_chunks("default")
    d = seed.default.doc_id
    assert [(c.document_id, c.text) for c in mine] == [(d, "default chunk one"), (d, "default chunk two")]
    nothing_of_acme(mine)
    # positive control
    a = seed.acme.doc_id
    assert [(c.document_id, c.text) for c in store.list_chunks("acme")] == [
        (a, "acme chunk one"),
        (a, "acme chunk two"),
    ]


# accounts


@covers("create_user")
def _create_user(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, "default"):
        mine = store.create_user("default", a.agent_email, "admin", "hash-by-default")  # emails are per tenant
    assert mine.tenant_id == "default"
    assert store.credentials("acme", a.agent_email).password_hash == "hash-of-acme-agent"  # type: ignore[union-attr]
    # positive control
    with only_writes_to(store, "acme"):
        theirs = store.create_user("acme", "new@example.com", "viewer", "hash-new")
    assert theirs.tenant_id == "acme" and theirs.id in {u.id for u in store.list_users("acme")}


@covers("get_user")
def _get_user(store: Store, seed: Seed) -> None:
    a, d = seed.acme, seed.default
    with only_writes_to(store, None):
        assert store.get_user("default", a.user_id) is None
        mine = store.get_user("default", d.user_id)
    assert mine is not None and mine.tenant_id == "default"
    # positive control
    assert (u := store.get_user("acme", a.user_id)) is not None and u.display_name == "acme owner"


@covers("list_users")
def _list_users(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        mine = store.list_users("default")
    assert [u.email for u in mine] == [SHARED_EMAIL, "default-agent@example.com"]
    assert seed.acme.user_id not in {u.id for u in mine}
    nothing_of_acme(mine)
    # positive control
    assert [u.display_name for u in store.list_users("acme")] == ["acme owner", "acme agent"]


@covers("credentials")
def _credentials(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        assert store.credentials("default", seed.acme.agent_email) is None
        mine = store.credentials("default", SHARED_EMAIL)
    assert mine is not None and (mine.user.id, mine.password_hash) == (seed.default.user_id, "hash-of-default-owner")
    nothing_of_acme(mine)
    # positive control
    theirs = store.credentials("acme", SHARED_EMAIL)
    assert theirs is not None and (theirs.user.id, theirs.password_hash) == (seed.acme.user_id, "hash-of-acme-owner")


@covers("update_user")
def _update_user(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None):
        assert store.update_user("default", a.user_id, "cli", role="viewer", password_hash="hash-by-default") is None
    # positive control
    with only_writes_to(store, "acme"):
        u = store.update_user("acme", a.user_id, "cli", role="viewer")
    assert u is not None and (u.role, u.token_version) == ("viewer", 1)
    assert _token(store, a.token_hash)[1] is not None  # the role change ended acme's own login


@covers("record_login")
def _record_login(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None):
        assert store.record_login("default", a.user_id, False, LATER, {"ip": "1.2.3.4"}) is None
    # positive control
    with only_writes_to(store, "acme"):
        store.record_login("acme", a.user_id, False, LATER, {"ip": "1.2.3.4"})
    c = store.credentials("acme", SHARED_EMAIL)
    assert c is not None and c.failed_logins == 1 and c.locked_until is not None


@covers("end_logins")
def _end_logins(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None):
        assert store.end_logins("default", a.user_id, "cli") is False
    # positive control
    with only_writes_to(store, "acme"):
        assert store.end_logins("acme", a.user_id, "cli") is True
    assert _token(store, a.token_hash)[1] is not None
    assert store.get_user("acme", a.user_id).token_version == 1  # type: ignore[union-attr]


@covers("add_refresh_token")
def _add_refresh_token(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None), pytest.raises(LookupError):
        store.add_refresh_token("default", a.user_id, sha("forged"), "forged-family", LATER)
    # positive control
    with only_writes_to(store, "acme"):
        store.add_refresh_token("acme", a.user_id, sha("acme-second"), "acme-family-2", LATER)
    use = store.use_refresh_token(sha("acme-second"))
    assert (use.status, use.tenant_id, use.user_id) == ("ok", "acme", a.user_id)


@covers("use_refresh_token")
def _use_refresh_token(store: Store, seed: Seed) -> None:
    """Looked up by the token's own hash (a 256-bit secret's): the login it continues is that token's tenant's."""
    a, d = seed.acme, seed.default
    with only_writes_to(store, None):
        assert store.use_refresh_token(sha("nobody's")).status == "unknown"
    with only_writes_to(store, "default"):
        use = store.use_refresh_token(d.token_hash)
    assert (use.status, use.tenant_id, use.user_id, use.family) == ("ok", "default", d.user_id, d.family)
    # positive control
    with only_writes_to(store, "acme"):
        use = store.use_refresh_token(a.token_hash)
    assert (use.status, use.tenant_id, use.user_id, use.family) == ("ok", "acme", a.user_id, a.family)
    # A replayed token of default's revokes its own login, never one of acme's, even one whose family string is the
    # same (families are the caller's strings: `add_refresh_token` takes any, and nothing makes them unique).
    store.add_refresh_token("acme", a.user_id, sha("acme-next"), a.family, LATER)  # acme's login, rotated
    store.add_refresh_token("default", d.user_id, sha("default-next"), a.family, LATER)
    assert store.use_refresh_token(sha("default-next")).status == "ok"
    with only_writes_to(store, "default"):
        assert store.use_refresh_token(sha("default-next")).status == "reused"  # a replay: default's login ends
        assert _token(store, sha("acme-next"))[1] is None, (
            "a replayed refresh token of tenant default revoked acme's live refresh token: use_refresh_token revokes "
            "by family alone, with no tenant (or user) in its WHERE"
        )


@covers("revoke_refresh_family")
def _revoke_refresh_family(store: Store, seed: Seed) -> None:
    a, d = seed.acme, seed.default
    with only_writes_to(store, None):
        assert store.revoke_refresh_family("default", a.token_hash, "cli") is False
    # positive control (on a second login of acme's, so that the seeded one stays live for the check below)
    store.add_refresh_token("acme", a.user_id, sha("acme-other-login"), "acme-family-2", LATER)
    with only_writes_to(store, "acme"):
        assert store.revoke_refresh_family("acme", sha("acme-other-login"), "cli") is True
    assert _token(store, sha("acme-other-login"))[1] is not None and _token(store, a.token_hash)[1] is None
    # Logging out of default's login ends that login only, even when acme's has the same family string.
    store.add_refresh_token("default", d.user_id, sha("default-same-family"), a.family, LATER)
    with only_writes_to(store, "default"):
        assert store.revoke_refresh_family("default", sha("default-same-family"), "cli") is True
        assert _token(store, a.token_hash)[1] is None, (
            "tenant default's logout revoked acme's live refresh token: revoke_refresh_family revokes by family "
            "alone, with no tenant (or user) in its WHERE"
        )


# API keys


@covers("create_api_key")
def _create_api_key(store: Store, seed: Seed) -> None:
    with only_writes_to(store, "default"):
        mine = store.create_api_key("default", "acme widget?", "dflt-2", sha("d2"), ["chat"], SHARED_BOT, "cli")
    assert mine.tenant_id == "default" and mine.id not in {k.id for k in store.list_api_keys("acme")}
    # positive control
    with only_writes_to(store, "acme"):
        theirs = store.create_api_key("acme", "acme second", "acme-2", sha("a2"), ["kb:read"], None, "cli")
    assert [k.id for k in store.list_api_keys("acme")] == [seed.acme.key_id, theirs.id]


@covers("get_api_key")
def _get_api_key(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        assert store.get_api_key("default", seed.acme.key_id) is None
        assert (k := store.get_api_key("default", seed.default.key_id)) is not None and k.tenant_id == "default"
    # positive control
    assert (k := store.get_api_key("acme", seed.acme.key_id)) is not None and k.name == "acme widget"


@covers("list_api_keys")
def _list_api_keys(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        mine = store.list_api_keys("default")
    assert [k.id for k in mine] == [seed.default.key_id]
    nothing_of_acme(mine)
    # positive control
    assert [k.id for k in store.list_api_keys("acme")] == [seed.acme.key_id]


@covers("revoke_api_key")
def _revoke_api_key(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None):
        assert store.revoke_api_key("default", a.key_id, "cli") is False
    assert store.api_key_by_hash(a.key_hash) is not None
    # positive control
    with only_writes_to(store, "acme"):
        assert store.revoke_api_key("acme", a.key_id, "cli") is True
    assert store.api_key_by_hash(a.key_hash) is None


@covers("touch_api_keys")
def _touch_api_keys(store: Store, seed: Seed) -> None:
    a, d = seed.acme, seed.default
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with only_writes_to(store, "default"):
        store.touch_api_keys("default", [a.key_id, d.key_id], at)
    assert store.get_api_key("default", d.key_id).last_used_at is not None  # type: ignore[union-attr]
    assert store.get_api_key("acme", a.key_id).last_used_at is None  # type: ignore[union-attr]
    # positive control
    with only_writes_to(store, "acme"):
        store.touch_api_keys("acme", [a.key_id], at)
    assert store.get_api_key("acme", a.key_id).last_used_at is not None  # type: ignore[union-attr]


@covers("api_key_by_hash")
def _api_key_by_hash(store: Store, seed: Seed) -> None:
    """Looked up by the key's own hash (a 256-bit secret's): what it finds names the key's own tenant."""
    a, d = seed.acme, seed.default
    with only_writes_to(store, None):
        mine = store.api_key_by_hash(d.key_hash)
        theirs = store.api_key_by_hash(a.key_hash)
        assert store.api_key_by_hash(sha("nobody's")) is None
    assert mine is not None and (mine.id, mine.tenant_id) == (d.key_id, "default")
    assert theirs is not None and (theirs.id, theirs.tenant_id) == (a.key_id, "acme")


# audit


@covers("audit")
def _audit(store: Store, seed: Seed) -> None:
    mine, theirs = _audit_count(store, "default"), _audit_count(store, "acme")
    assert mine != theirs
    with only_writes_to(store, "default"):
        assert store.audit("default", "cli", "test.note", "note:again", {"about": seed.acme.audit_id}) == mine + 1
    # positive control
    with only_writes_to(store, "acme"):
        assert store.audit("acme", "cli", "test.note", "note:again") == theirs + 1
    assert all(r.ok for r in store.verify_audit())


@covers("audit_entries")
def _audit_entries(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        mine = store.audit_entries("default", limit=1000)
        notes = store.audit_entries("default", action="test.note", since=EPOCH, until=LATER)
    assert len(mine) == _audit_count(store, "default") and {e.tenant_id for e in mine} == {"default"}
    assert [e.id for e in notes] == [seed.default.audit_id]
    nothing_of_acme(mine)
    # positive control
    assert [e.id for e in store.audit_entries("acme", action="test.note")] == [seed.acme.audit_id]


@covers("audit_entry")
def _audit_entry(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        assert store.audit_entry("default", seed.acme.audit_id) is None
        assert (e := store.audit_entry("default", seed.default.audit_id)) is not None and e.target == "note:default"
    # positive control
    assert (e := store.audit_entry("acme", seed.acme.audit_id)) is not None and e.target == "note:acme"


@covers("export_audit")
def _export_audit(store: Store, seed: Seed) -> None:
    """With tenant_id=None it exports every tenant (the operator's CLI); with a tenant, only that one's chain."""
    with only_writes_to(store, None):
        mine = list(store.export_audit(EPOCH, LATER, "default"))
        everyone = list(store.export_audit(EPOCH, LATER))
    assert len(mine) == _audit_count(store, "default") and {e["tenant_id"] for e in mine} == {"default"}
    assert seed.default.audit_id in {e["id"] for e in mine} and seed.acme.audit_id not in {e["id"] for e in mine}
    nothing_of_acme(mine)
    assert {e["tenant_id"] for e in everyone} == {"default", "acme"}
    # positive control
    theirs = list(store.export_audit(EPOCH, LATER, "acme"))
    assert seed.acme.audit_id in {e["id"] for e in theirs} and {e["tenant_id"] for e in theirs} == {"acme"}


@covers("verify_audit")
def _verify_audit(store: Store, seed: Seed) -> None:
    """With tenant_id=None it checks every tenant's chain (the operator's CLI); with a tenant, only that one's."""
    mine, theirs = _audit_count(store, "default"), _audit_count(store, "acme")
    with only_writes_to(store, None):
        assert store.verify_audit("default") == [VerifyResult("default", True, mine)]
        assert store.verify_audit() == [VerifyResult("acme", True, theirs), VerifyResult("default", True, mine)]
    # positive control
    assert store.verify_audit("acme") == [VerifyResult("acme", True, theirs)]


# outbox


@covers("outbox_events")
def _outbox_events(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        mine = store.outbox_events("default")
        dead = store.outbox_events("default", status="dead")
    assert len(mine) == 2 and [e.id for e in dead] == [seed.default.dead_event]
    nothing_of_acme([mine, dead])
    # positive control
    assert {e.payload["who"] for e in store.outbox_events("acme")} == {"acme pending payload", "acme dead payload"}


@covers("outbox_status")
def _outbox_status(store: Store, seed: Seed) -> None:
    with only_writes_to(store, None):
        mine = store.outbox_status("default")
    assert (mine["pending"], mine["dead"]) == (1, 1)
    everyone = store.outbox_status()
    assert (everyone["pending"], everyone["dead"]) == (2, 2)  # the operator's view: every tenant
    # positive control
    assert store.outbox_status("acme")["dead"] == 1


@covers("replay_dead")
def _replay_dead(store: Store, seed: Seed) -> None:
    a = seed.acme
    with only_writes_to(store, None):
        assert store.replay_dead("default", ids=[a.dead_event]) == 0  # acme's dead letter, named from default
    assert store.outbox_status("acme")["dead"] == 1
    with only_writes_to(store, "default"):
        assert store.replay_dead("default") == 1
    assert store.outbox_status("acme")["dead"] == 1
    # positive control
    with only_writes_to(store, "acme"):
        assert store.replay_dead("acme", ids=[a.dead_event]) == 1


# --- methods with no tenant ---------------------------------------------------------------------------------------

NOT_TENANT_SCOPED: dict[str, str] = {
    "migrate": "infrastructure: runs the schema migrations",
    "close": "infrastructure: shuts the thread pool and the engine down",
    "run": "infrastructure: runs a callable on the store's thread pool",
    "submit": "infrastructure: runs a callable on the store's thread pool without waiting",
    "wait": "infrastructure: waits for a submitted call, within the database deadline",
    "tenant_ids": "about tenants themselves: the list of tenant ids (operator and background jobs)",
    "audit_tenants": "about tenants themselves: the tenants that have an audit chain (operator CLI)",
    "ensure_tenant": "about tenants themselves: creates a tenant and its default bot",
    "tenant_exists": "about tenants themselves",
    "get_embeddings": "content-addressed vector cache keyed by model and text hash; holds no text, names no tenant",
    "put_embeddings": "content-addressed vector cache keyed by model and text hash; holds no text, names no tenant",
    "api_key_by_hash": "looked up by a 256-bit secret's hash; the row names its own tenant (case: it is the key's)",
    "use_refresh_token": "looked up by a 256-bit secret's hash; the row names its own tenant (case: it is the token's)",
    "export_audit": "tenant_id=None is the operator's export of every chain (case: a tenant's export is its own)",
    "verify_audit": "tenant_id=None is the operator's check of every chain (case: a tenant's check is its own)",
    "record_customer_message": "takes its tenant inside the TurnContext (case: a forged context writes nothing)",
    "open_turn_async": "the async twin of open_turn (case: the same checks, the cached no-query path included)",
    "claim": "the outbox relay's: due events of every tenant, each carrying its own tenant to its handler",
    "mark_sent": "the outbox relay's: rows by the ids its claim returned",
    "mark_failed": "the outbox relay's: a row by the id its claim returned",
    "release": "the outbox relay's: claimed rows handed back by id",
    "purge_sent": "the outbox relay's housekeeping: old sent events of every tenant",
}


def _public_methods() -> set[str]:
    return {name for name, _ in inspect.getmembers(Store, inspect.isfunction) if not name.startswith("_")}


def test_every_public_method_is_covered() -> None:
    public = _public_methods()
    uncovered = sorted(public - set(CASES) - set(NOT_TENANT_SCOPED))
    assert not uncovered, (
        f"Store methods with no tenant-isolation case: {uncovered}. Add a case to CASES in {__name__} (or, if the "
        "method takes no tenant, a reason to NOT_TENANT_SCOPED)."
    )
    stale = sorted((set(CASES) | set(NOT_TENANT_SCOPED)) - public)
    assert not stale, f"cases or reasons for methods Store no longer has: {stale}"


@pytest.mark.parametrize("method", sorted(CASES))
def test_isolation(store: Store, method: str) -> None:
    seed = make_seed(store)
    assert_no_cross_tenant_links(store)
    CASES[method](store, seed)
    assert_no_cross_tenant_links(store)
