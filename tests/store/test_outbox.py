"""The outbox table on SQLite and on the real PostgreSQL server: an event enqueued in a transaction that rolls back
leaves nothing; an idempotency key dedupes (per tenant and kind); concurrent claimers never get the same row; a
lease that runs out brings a claimed row back; failed tries, back-off, dead letters and their replay; the status
figures; every tenant filter; `kefu outbox status|replay`; and what an enqueue costs inside a transaction."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kefu.admin.outbox_cli import outbox_app
from kefu.store.db import make_engine, migrate
from kefu.store.models import OutboxEvent, utcnow
from kefu.store.outbox import OutboxItem, OutboxQueries, enqueue, stored_key
from tests.conftest import best_of, migrated_pg_database

runner = CliRunner()
T = OutboxEvent.__table__


class _S(OutboxQueries):
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def add(self, tenant: str, kind: str = "webhook", payload: dict | None = None, key: str | None = None) -> int:
        with self.engine.begin() as conn:
            return enqueue(conn, tenant, kind, payload if payload is not None else {"n": 1}, key)

    def row(self, event_id: int) -> sa.Row:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(T).where(T.c.id == event_id)).one()

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(T)))


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    """A fresh, migrated database on the real PostgreSQL server for this module, dropped afterwards."""
    with migrated_pg_database("kefu_test_outbox") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite: a fresh file per test. PostgreSQL: the module's database, its outbox emptied for each test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'outbox.db'}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        return url
    url = request.getfixturevalue("pg_module_url")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.delete(T))
    engine.dispose()
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[_S]:
    s = _S(db_url)
    try:
        yield s
    finally:
        s.engine.dispose()


# --- enqueue ---------------------------------------------------------------------------------------------------
def test_an_event_commits_with_its_cause_and_rolls_back_with_it(store: _S) -> None:
    with store.engine.connect() as conn:
        tx = conn.begin()
        event_id = enqueue(conn, "acme", "handoff", {"session": "s1", "reason": "request"}, "handoff:s1:1")
        assert event_id > 0
        tx.rollback()
    with pytest.raises(RuntimeError), store.engine.begin() as conn:  # the caller's transaction fails after it
        enqueue(conn, "acme", "handoff", {"session": "s2"})
        raise RuntimeError("the turn failed")
    assert store.count() == 0
    assert store.claim(10, 30) == []
    # committed: there, with what was given
    event_id = store.add("acme", "handoff", {"session": "s1", "text": "转人工", "n": [1, 2.5, None]}, "handoff:s1:1")
    (item,) = store.outbox_events("acme")
    assert (item.id, item.tenant_id, item.kind, item.status, item.attempts) == (
        event_id,
        "acme",
        "handoff",
        "pending",
        0,
    )
    assert item.payload == {"session": "s1", "text": "转人工", "n": [1, 2.5, None]}
    assert item.key == stored_key("acme", "handoff", "handoff:s1:1") and len(item.key) == 64
    assert item.last_error is None and item.sent_at is None
    assert abs((utcnow() - item.created_at).total_seconds()) < 5


def test_an_idempotency_key_dedupes_per_tenant_and_kind(store: _S) -> None:
    first = store.add("acme", "webhook", {"v": 1}, "order:42")
    assert store.add("acme", "webhook", {"v": 2}, "order:42") == first  # a producer's retry: the first event
    with store.engine.begin() as conn:  # twice in one transaction, too
        assert enqueue(conn, "acme", "webhook", {"v": 3}, "order:42") == first
        same_tx = enqueue(conn, "acme", "webhook", {"v": 1}, "order:43")
        assert enqueue(conn, "acme", "webhook", {"v": 1}, "order:43") == same_tx
    other_tenant = store.add("globex", "webhook", {"v": 1}, "order:42")
    other_kind = store.add("acme", "ticket", {"v": 1}, "order:42")
    no_key = {store.add("acme", "webhook", {"v": 1}), store.add("acme", "webhook", {"v": 1})}
    assert len({first, same_tx, other_tenant, other_kind, *no_key}) == 6
    assert store.count() == 6
    assert store.row(first).payload == {"v": 1}  # the first try's payload stands


def test_a_body_round_trips(store: _S) -> None:
    store.add("acme", "webhook", {"订单": "42", "amount": 99.5}, "k")
    (item,) = store.claim(5, 30)
    again = OutboxItem.from_body(item.body(), item.id, item.attempts)
    assert (again.id, again.tenant_id, again.kind, again.payload, again.key, again.created_at) == (
        item.id, item.tenant_id, item.kind, item.payload, item.key, item.created_at,
    )  # fmt: skip


# --- claiming --------------------------------------------------------------------------------------------------
def test_claims_lease_rows_and_a_lease_that_runs_out_brings_them_back(store: _S) -> None:
    ids = [store.add("acme", "webhook", {"i": i}) for i in range(5)]
    first = store.claim(3, 0.4)
    assert [i.id for i in first] == ids[:3]  # oldest due first
    assert all(i.available_at > utcnow() for i in first)  # the lease pushed them forward
    second = store.claim(10, 0.4)
    assert [i.id for i in second] == ids[3:]  # never the leased ones
    assert store.claim(10, 0.4) == []
    time.sleep(0.5)  # the claimer "crashed": its leases run out
    back = store.claim(10, 30)
    assert sorted(i.id for i in back) == ids
    assert all(i.attempts == 0 and i.status == "pending" for i in back)  # a lease that ran out is no failed try


def test_claims_only_the_kinds_asked_for(store: _S) -> None:
    hook = store.add("acme", "webhook")
    ticket = store.add("acme", "ticket")
    assert store.claim(10, 30, kinds=[]) == []
    assert [i.id for i in store.claim(10, 30, kinds=["ticket", "handoff"])] == [ticket]
    assert [i.id for i in store.claim(10, 30, kinds=["webhook"])] == [hook]


def test_concurrent_claimers_never_get_the_same_row(store: _S) -> None:
    """Four threads, each with its own connections, claim small batches until nothing is left: every event is
    claimed exactly once (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one atomic statement, one writer)."""
    n = 240
    with store.engine.begin() as conn:
        ids = {enqueue(conn, f"t{i % 3}", "webhook", {"i": i}) for i in range(n)}
    barrier = threading.Barrier(4)
    got: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def claimer(k: int) -> None:
        s = _S(store.engine.url.render_as_string(hide_password=False))
        try:
            barrier.wait()
            empty = 0
            while empty < 3:  # a claim can come back empty while others hold the last rows
                items = s.claim(7, 60)
                got[k].extend(i.id for i in items)
                empty = 0 if items else empty + 1
        except BaseException as e:
            errors.append(e)
        finally:
            s.engine.dispose()

    threads = [threading.Thread(target=claimer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    every = [i for g in got for i in g]
    assert len(every) == len(set(every)) == n  # none twice
    assert set(every) == ids
    if store.engine.dialect.name == "postgresql":
        assert sum(1 for g in got if g) >= 2  # they did claim side by side


# --- tries, back-off, dead letters ------------------------------------------------------------------------------
def test_failed_tries_back_off_then_go_dead(store: _S) -> None:
    event_id = store.add("acme", "webhook")
    (item,) = store.claim(1, 30)
    assert store.mark_failed(item.id, "HTTP 500", utcnow() + timedelta(seconds=0.4)) is True
    row = store.row(event_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500")
    assert store.claim(5, 30) == []  # backing off
    time.sleep(0.5)
    (item,) = store.claim(5, 30)
    assert item.attempts == 1 and item.last_error == "HTTP 500"
    assert store.mark_failed(item.id, "x" * 5000, None, dead=True) is True
    row = store.row(event_id)
    assert (row.status, row.attempts, len(row.last_error)) == ("dead", 2, 2000)  # the error kept, cut short
    assert store.claim(5, 30) == []  # a dead letter is never claimed
    assert store.mark_failed(item.id, "again", None, dead=True) is False  # dead already
    status = store.outbox_status("acme")
    assert (status["pending"], status["dead"]) == (0, 1)


def test_sent_is_final(store: _S) -> None:
    a, b = store.add("acme", "webhook"), store.add("acme", "webhook")
    items = store.claim(5, 30)
    assert store.mark_sent([i.id for i in items]) == 2
    assert store.mark_sent([a]) == 0 and store.mark_sent([]) == 0
    assert store.mark_failed(a, "late failure of a stale claimer", utcnow()) is False  # a retry never reopens it
    time.sleep(0.05)
    assert store.claim(5, 0.01) == []
    row = store.row(b)
    assert row.status == "sent" and row.sent_at is not None
    # a failure noted by the broker's consumer (no retry_at) counts, and changes nothing else
    assert store.mark_failed(b, "consumer: HTTP 503", None) is True
    row = store.row(b)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "consumer: HTTP 503")
    # dead from sent: the broker's consumer gave up
    assert store.mark_failed(b, "consumer: HTTP 503", None, dead=True) is True
    assert store.row(b).status == "dead"


def test_release_hands_claimed_rows_back_without_a_try(store: _S) -> None:
    ids = [store.add("acme", "webhook") for _ in range(3)]
    store.claim(5, 60)
    assert store.release(ids[:2]) == 2 and store.release([]) == 0
    back = store.claim(5, 60)
    assert sorted(i.id for i in back) == ids[:2] and all(i.attempts == 0 for i in back)


def test_replay_sends_dead_letters_again(store: _S) -> None:
    a1, a2, b1 = store.add("acme", "webhook"), store.add("acme", "webhook"), store.add("globex", "webhook")
    for item in store.claim(5, 30):
        store.mark_failed(item.id, "HTTP 500", None, dead=True)
    assert store.replay_dead("nobody") == 0
    assert store.replay_dead(ids=[]) == 0  # no ids: nothing, never everything
    assert store.replay_dead("globex", ids=[a1]) == 0  # another tenant's id
    assert store.replay_dead("acme", ids=[a1]) == 1
    assert store.row(a1).status == "pending" and store.row(a1).attempts == 0
    assert store.row(a1).last_error == "HTTP 500"  # what went wrong stays readable
    assert store.replay_dead("acme", ids=[a1]) == 0  # pending now, not dead
    assert [i.id for i in store.claim(5, 30)] == [a1]
    assert store.replay_dead("acme") == 1  # a2
    assert store.replay_dead() == 1  # b1, every tenant
    assert {store.row(i).status for i in (a2, b1)} == {"pending"}


# --- status and tenants -----------------------------------------------------------------------------------------
def test_status_figures_and_tenant_filters(store: _S) -> None:
    assert store.outbox_status() == {
        "pending": 0, "retrying": 0, "dead": 0, "oldest_pending_age_s": None, "sent_last_hour": 0,
    }  # fmt: skip
    old = store.add("acme", "webhook", {"i": 0})
    with store.engine.begin() as conn:  # an event waiting for ten minutes
        conn.execute(sa.update(T).where(T.c.id == old).values(created_at=utcnow() - timedelta(minutes=10)))
    retrying, dead, sent = (store.add("acme", "webhook", {"i": i}) for i in (1, 2, 3))
    g1, g2 = store.add("globex", "ticket"), store.add("globex", "ticket")
    by_id = {i.id: i for i in store.claim(10, 30)}
    store.mark_failed(by_id[retrying].id, "HTTP 502", utcnow() + timedelta(hours=1))
    store.mark_failed(by_id[dead].id, "HTTP 404", None, dead=True)
    store.mark_sent([sent, g2])
    acme = store.outbox_status("acme")
    assert {k: v for k, v in acme.items() if k != "oldest_pending_age_s"} == {
        "pending": 2, "retrying": 1, "dead": 1, "sent_last_hour": 1,
    }  # fmt: skip
    assert 590 < acme["oldest_pending_age_s"] < 700
    globex = store.outbox_status("globex")
    assert (globex["pending"], globex["retrying"], globex["dead"], globex["sent_last_hour"]) == (1, 0, 0, 1)
    assert globex["oldest_pending_age_s"] < 60
    every = store.outbox_status()
    assert (every["pending"], every["dead"], every["sent_last_hour"]) == (3, 1, 2)
    assert every["oldest_pending_age_s"] == pytest.approx(acme["oldest_pending_age_s"], abs=5)
    # sent long ago is not "the last hour"
    with store.engine.begin() as conn:
        old_time = utcnow() - timedelta(hours=2)
        conn.execute(sa.update(T).where(T.c.id == sent).values(sent_at=old_time, available_at=old_time))
    assert store.outbox_status("acme")["sent_last_hour"] == 0
    # listings
    assert [i.id for i in store.outbox_events("acme")] == [sent, dead, retrying, old]  # newest first
    assert [i.id for i in store.outbox_events("acme", "dead")] == [dead]
    assert [i.id for i in store.outbox_events("globex", "pending")] == [g1]
    assert [i.id for i in store.outbox_events(None, "sent")] == [g2, sent]
    assert [i.id for i in store.outbox_events("acme", limit=2)] == [sent, dead]
    assert store.outbox_events("nobody") == []
    with pytest.raises(ValueError):
        store.outbox_events("acme", "lost")
    # purging old sent events
    assert store.purge_sent(3600) == 1
    assert [i.id for i in store.outbox_events(None, "sent")] == [g2]


# --- the command -----------------------------------------------------------------------------------------------
def test_outbox_status_and_replay_commands(store: _S, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_DATABASE_URL", db_url)
    a, b, c = store.add("acme", "webhook"), store.add("acme", "webhook"), store.add("globex", "ticket")
    for item in store.claim(10, 30):
        if item.id != b:
            store.mark_failed(item.id, "HTTP 500 from https://example.test/hook", None, dead=True)
    res = runner.invoke(outbox_app, ["status"])
    assert res.exit_code == 0, res.output
    assert "pending         1" in res.output and "dead letters    2" in res.output
    assert f"dead #{a} acme webhook after 1 tries: HTTP 500" in res.output
    res = runner.invoke(outbox_app, ["status", "--tenant", "globex", "--json"])
    assert res.exit_code == 0, res.output
    assert '"dead": 1' in res.output and '"pending": 0' in res.output and f'"id": {c}' in res.output
    res = runner.invoke(outbox_app, ["replay", "--tenant", "acme", "--id", str(c)])
    assert res.exit_code == 0 and "0 dead letters pending again" in res.output  # globex's event, not acme's
    res = runner.invoke(outbox_app, ["replay", "--id", str(a), "--id", str(c)])
    assert res.exit_code == 0 and "2 dead letters pending again" in res.output
    assert store.outbox_status()["dead"] == 0


# --- cost ------------------------------------------------------------------------------------------------------
def test_an_enqueue_is_cheap_inside_a_transaction(store: _S) -> None:
    """One prebuilt INSERT in the caller's transaction (the turn's): its median cost, printed for the record."""
    n = 300

    def measure() -> float:
        tag = uuid.uuid4().hex[:6]
        times = []
        with store.engine.begin() as conn:
            for i in range(n):
                t0 = time.perf_counter()
                enqueue(conn, "acme", "handoff", {"session": "0" * 36, "reason": "request", "i": i}, f"{tag}:{i}")
                times.append(time.perf_counter() - t0)
        return statistics.median(times)

    limit = 0.002  # 2 ms: tens of µs on SQLite, one round trip (~0.2 ms) on PostgreSQL
    best = best_of(measure, limit)
    print(f"\nenqueue median on {store.engine.dialect.name}: {best * 1e6:.0f} µs")
    assert best <= limit
