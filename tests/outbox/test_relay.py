"""The outbox relay end to end. In-process: a real local HTTP server receives the webhooks (signature checked), 500s
are retried with back-off until a 200, N failures make a dead letter, timeouts and refused connections are failed
tries, two relays on one database never deliver an event twice, and a sent event is never delivered again.
RabbitMQ mode, against the real broker at 127.0.0.1:5672 (queues of each test's own prefix, deleted afterwards):
messages as published (persistent, message_id, headers), consumed and acked, a failing handler retried through the
delay queues then dead-lettered (and recorded dead), and a relay restarted mid-way loses nothing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web

from kefu.outbox import OutboxRelay, WebhookHandler
from kefu.store.db import make_engine, migrate
from kefu.store.models import OutboxEvent
from kefu.store.outbox import OutboxItem, OutboxQueries, enqueue
from tests.conftest import missing

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
SECRET = "s3cret-公司"
T = OutboxEvent.__table__


class _Store(OutboxQueries):
    """The outbox queries over one database, with `run` onto one thread (as Store does for SQLite)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        migrate(self.engine)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-db")

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.wrap_future(self._pool.submit(fn, *args, **kwargs))

    def add(self, tenant: str, kind: str, payload: dict, key: str | None = None) -> int:
        with self.engine.begin() as conn:
            return enqueue(conn, tenant, kind, payload, key)

    def row(self, event_id: int) -> sa.Row:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(T).where(T.c.id == event_id)).one()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[_Store]:
    s = _Store(f"sqlite:///{tmp_path / 'outbox.db'}")
    try:
        yield s
    finally:
        s.close()


async def until(check: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


# --- a company's webhook endpoint ---------------------------------------------------------------------------------
@dataclass
class Hook:
    """A real HTTP server: answers each event id with its scripted statuses (then 200), records every request."""

    url: str = ""
    script: dict[str, list[int]] = field(default_factory=dict)
    default: int = 200
    delay_s: float = 0.0
    requests: list[dict] = field(default_factory=list)

    def done(self) -> list[str]:
        return [r["event_id"] for r in self.requests if 200 <= r["status"] < 300]

    def tries(self, event_id: str) -> list[dict]:
        return [r for r in self.requests if r["event_id"] == event_id]


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    h = Hook()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        event_id = request.headers.get("X-Kefu-Event-Id", "")
        if h.delay_s:
            await asyncio.sleep(h.delay_s)
        statuses = h.script.get(event_id)
        status = statuses.pop(0) if statuses else h.default
        h.requests.append(
            {
                "event_id": event_id,
                "signed": hmac.compare_digest(request.headers.get("X-Kefu-Signature", ""), expected),
                "kind": request.headers.get("X-Kefu-Event-Kind"),
                "content_type": request.headers.get("Content-Type"),
                "body": json.loads(body),
                "status": status,
                "at": time.monotonic(),
            }
        )
        return web.Response(status=status, text="ok" if status < 300 else "no")

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    h.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield h
    finally:
        await runner.cleanup()


def _relay(store: Any, hook: Hook, **kw: Any) -> OutboxRelay:
    kw.setdefault("backoff_s", 0.05)
    kw.setdefault("poll_s", 0.05)
    kw.setdefault("lease_s", 10.0)
    kw.setdefault("handler_timeout_s", 5.0)
    return OutboxRelay(
        store, None, {"webhook": WebhookHandler(hook.url, SECRET, timeout_s=kw.pop("timeout_s", 5.0))}, **kw
    )


# --- in-process -------------------------------------------------------------------------------------------------
async def test_a_webhook_is_signed_and_delivered_once(store: _Store, hook: Hook) -> None:
    relay = _relay(store, hook, poll_s=5.0)  # a long poll: notify() is what wakes it
    await relay.start()
    try:
        await asyncio.sleep(0.1)
        event_id = store.add("acme", "webhook", {"session": "s1", "text": "我要退货"}, "handoff:s1")
        t0 = time.monotonic()
        relay.notify()
        await until(lambda: len(hook.requests) == 1)
        assert time.monotonic() - t0 < 2.0  # at once, not at the next poll
        (req,) = hook.requests
        key = store.row(event_id).idempotency_key
        assert req["signed"] and req["event_id"] == key and req["kind"] == "webhook"
        assert req["content_type"] == "application/json"
        assert req["body"]["event_id"] == key and req["body"]["tenant_id"] == "acme"
        assert req["body"]["kind"] == "webhook" and req["body"]["payload"] == {"session": "s1", "text": "我要退货"}
        await until(lambda: store.row(event_id).status == "sent")
        # notified from another thread (a producer's database thread) works too
        second = store.add("acme", "webhook", {"n": 2})
        threading.Thread(target=relay.notify).start()
        await until(lambda: store.row(second).status == "sent", timeout=3.0)
        await asyncio.sleep(0.3)
        assert len(hook.requests) == 2  # each once
    finally:
        await relay.stop()


async def test_500s_are_retried_with_back_off_then_succeed(store: _Store, hook: Hook) -> None:
    event_id = store.add("acme", "webhook", {"n": 1})
    key = store.row(event_id).idempotency_key
    hook.script[key] = [500, 503]
    relay = _relay(store, hook, backoff_s=0.2)
    await relay.start()
    try:
        await until(lambda: store.row(event_id).status == "sent")
        tries = hook.tries(key)
        assert [r["status"] for r in tries] == [500, 503, 200]
        assert all(r["signed"] for r in tries) and {r["body"]["event_id"] for r in tries} == {key}
        gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(tries)]
        assert gaps[0] >= 0.2 * 0.75 - 0.02 and gaps[1] >= 0.4 * 0.75 - 0.02  # 0.2 s, then 0.4 s (75-100 %)
        row = store.row(event_id)
        assert (row.attempts, row.sent_at is not None) == (2, True)
        assert "HTTP 503" in row.last_error
        await asyncio.sleep(0.5)
        assert len(hook.tries(key)) == 3  # never again once sent
    finally:
        await relay.stop()


async def test_n_failures_make_a_dead_letter(store: _Store, hook: Hook) -> None:
    hook.default = 500
    event_id = store.add("acme", "webhook", {"n": 1})
    fine = store.add("acme", "webhook", {"n": 2})
    hook.script[store.row(fine).idempotency_key] = [200]
    relay = _relay(store, hook, max_attempts=3)
    await relay.start()
    try:
        await until(lambda: store.row(event_id).status == "dead")
        row = store.row(event_id)
        assert row.attempts == 3 and "HTTP 500" in row.last_error
        await asyncio.sleep(0.4)
        assert len(hook.tries(row.idempotency_key)) == 3  # a dead letter is tried no more
        assert store.row(fine).status == "sent"
        assert store.outbox_status("acme")["dead"] == 1
        # replayed, against an endpoint that works again: delivered
        hook.default = 200
        assert store.replay_dead("acme") == 1
        relay.notify()
        await until(lambda: store.row(event_id).status == "sent")
        assert len(hook.tries(row.idempotency_key)) == 4
    finally:
        await relay.stop()


async def test_timeouts_and_refused_connections_are_failed_tries(store: _Store, hook: Hook) -> None:
    hook.delay_s = 0.5
    slow = store.add("acme", "webhook", {"n": 1})
    relay = _relay(store, hook, timeout_s=0.1, max_attempts=2)
    await relay.start()
    try:
        await until(lambda: store.row(slow).status == "dead")
        assert "Timeout" in store.row(slow).last_error
    finally:
        await relay.stop()
    closed = Hook(url="http://127.0.0.1:9/hook")  # nothing listens there
    refused = store.add("acme", "webhook", {"n": 2})
    relay = _relay(store, closed, max_attempts=2)
    await relay.start()
    try:
        await until(lambda: store.row(refused).status == "dead")
        assert store.row(refused).attempts == 2 and "Connect" in store.row(refused).last_error
    finally:
        await relay.stop()


async def test_two_relays_never_deliver_an_event_twice(
    store: _Store, hook: Hook, request: pytest.FixtureRequest
) -> None:
    """Two instances' relays over one PostgreSQL database (SKIP LOCKED claims), with a flaky endpoint: every event
    succeeds exactly once; stopping and starting a relay later delivers nothing again."""
    pg = _Store(request.getfixturevalue("pg_url"))
    try:
        hook.delay_s = 0.01
        ids = [pg.add(f"t{i % 2}", "webhook", {"i": i}) for i in range(60)]
        keys = [pg.row(i).idempotency_key for i in ids]
        for k in keys[::5]:
            hook.script[k] = [500]  # every fifth fails once
        relays = [_relay(pg, hook, concurrency=4), _relay(pg, hook, concurrency=4)]
        for r in relays:
            await r.start()
        try:
            await until(lambda: len(hook.done()) >= 60, timeout=20)
            await asyncio.sleep(0.3)
        finally:
            for r in relays:
                await r.stop()
        assert sorted(hook.done()) == sorted(keys)  # each exactly once
        assert len(hook.requests) == 60 + 12
        assert pg.outbox_status()["sent_last_hour"] == 60
        again = _relay(pg, hook)
        await again.start()
        await asyncio.sleep(0.3)
        await again.stop()
        assert len(hook.requests) == 72
    finally:
        pg.close()


async def test_kinds_without_a_handler_stay_pending(store: _Store, hook: Hook) -> None:
    other = store.add("acme", "ticket", {"n": 1})
    mine = store.add("acme", "webhook", {"n": 1})
    relay = _relay(store, hook)
    await relay.start()
    try:
        await until(lambda: store.row(mine).status == "sent")
        await asyncio.sleep(0.2)
        assert store.row(other).status == "pending" and store.row(other).attempts == 0
    finally:
        await relay.stop()
    with pytest.raises(ValueError):
        OutboxRelay(store, None, {}, lease_s=5, handler_timeout_s=5)


# --- RabbitMQ ---------------------------------------------------------------------------------------------------
@pytest.fixture
async def broker() -> AsyncIterator[tuple[str, Any]]:
    """The real broker: a test prefix of its own, and a channel to look with; its queues deleted afterwards."""
    import aio_pika

    try:
        connection = await asyncio.wait_for(aio_pika.connect(AMQP_URL), 5)
    except Exception as e:
        missing(f"RabbitMQ not reachable at 127.0.0.1:5672 ({type(e).__name__})")
    prefix = f"kefutest.{uuid.uuid4().hex[:8]}"
    channel = await connection.channel()
    try:
        yield prefix, channel
    finally:
        probe = OutboxRelay(None, AMQP_URL, {}, prefix=prefix, kinds=["webhook"])  # type: ignore[arg-type]
        names: set[str] = set()
        for attempts in range(1, 8):
            probe.max_attempts = attempts
            top = probe.topology("webhook")
            names |= {top.queue, top.dead, *top.delays}
        for backoff in (0.2, 0.3, 1.0):  # the tests' back-off steps
            probe.backoff_s = backoff
            names |= set(probe.topology("webhook").delays)
        cleanup = await connection.channel()
        for name in names:
            await cleanup.queue_delete(name)
        await cleanup.exchange_delete(f"{prefix}.outbox")
        await connection.close()


async def _get(channel: Any, name: str, timeout: float = 5.0) -> Any:
    queue = await channel.declare_queue(name, passive=True)
    deadline = time.monotonic() + timeout
    while True:
        message = await queue.get(no_ack=False, fail=False)
        if message is not None:
            return message
        if time.monotonic() > deadline:
            raise AssertionError(f"no message in {name}")
        await asyncio.sleep(0.05)


async def _depth(channel: Any, name: str) -> int:
    return (await channel.declare_queue(name, passive=True)).declaration_result.message_count


async def test_rabbitmq_publishes_confirmed_persistent_messages(store: _Store, broker: tuple[str, Any]) -> None:
    prefix, channel = broker
    relay = OutboxRelay(store, AMQP_URL, {}, kinds=["webhook"], prefix=prefix, poll_s=0.05)  # a publisher only
    await relay.start()
    try:
        event_id = store.add("acme", "webhook", {"订单": 42}, "order:42")
        relay.notify()
        message = await _get(channel, f"{prefix}.webhook")
        key = store.row(event_id).idempotency_key
        assert message.message_id == key and message.delivery_mode == 2 and message.type == "webhook"
        assert message.content_type == "application/json"
        assert message.headers["x-kefu-attempt"] == 1 and message.headers["x-kefu-outbox-id"] == event_id
        assert message.headers["x-kefu-tenant"] == "acme"
        body = json.loads(message.body)
        assert body["event_id"] == key and body["payload"] == {"订单": 42} and body["tenant_id"] == "acme"
        await message.ack()
        await until(lambda: store.row(event_id).status == "sent")  # after the broker's confirm
    finally:
        await relay.stop()


async def test_rabbitmq_consumes_acks_and_retries_then_dead_letters(store: _Store, broker: tuple[str, Any]) -> None:
    prefix, channel = broker
    calls: dict[str, list[float]] = {}
    failing: set[str] = set()
    flaky: dict[str, int] = {}

    async def handler(event: OutboxItem) -> None:
        calls.setdefault(event.key, []).append(time.monotonic())
        if event.key in failing:
            raise RuntimeError("the ticket system is down")
        if flaky.get(event.key, 0) > 0:
            flaky[event.key] -= 1
            raise RuntimeError("try again")

    good = store.add("acme", "webhook", {"n": 1})
    bad = store.add("acme", "webhook", {"n": 2})
    wobbly = store.add("globex", "webhook", {"n": 3})
    good_key, bad_key, wobbly_key = (store.row(i).idempotency_key for i in (good, bad, wobbly))
    failing.add(bad_key)
    flaky[wobbly_key] = 1
    relay = OutboxRelay(
        store, AMQP_URL, {"webhook": handler}, prefix=prefix, poll_s=0.05, max_attempts=3, backoff_s=0.3
    )
    top = relay.topology("webhook")
    assert top.delays == (f"{prefix}.webhook.delay.300", f"{prefix}.webhook.delay.600")
    await relay.start()
    try:
        await until(lambda: len(calls.get(bad_key, [])) == 3)
        await until(lambda: store.row(bad).status == "dead")
        times = calls[bad_key]
        assert times[1] - times[0] >= 0.28 and times[2] - times[1] >= 0.58  # the delay queues' TTLs: 0.3 s, 0.6 s
        assert len(calls[good_key]) == 1 and len(calls[wobbly_key]) == 2
        dead = await _get(channel, top.dead)
        assert dead.message_id == bad_key and dead.headers["x-kefu-attempt"] == 3
        assert "the ticket system is down" in dead.headers["x-kefu-error"]
        await dead.ack()
        row = store.row(bad)
        assert row.attempts == 3 and "the ticket system is down" in row.last_error
        assert store.row(good).status == "sent" and store.row(wobbly).status == "sent"
        assert store.row(wobbly).attempts == 1  # its one failure, noted
        await asyncio.sleep(0.8)
        assert len(calls[bad_key]) == 3  # dead: no further tries
        for name in (top.queue, top.dead, *top.delays):
            assert await _depth(channel, name) == 0, name
    finally:
        await relay.stop()


async def test_rabbitmq_relay_restarted_mid_way_loses_nothing(store: _Store, broker: tuple[str, Any]) -> None:
    """A relay stopped while the broker had not confirmed its publish, and while its consumer was still handling a
    message: the unconfirmed event comes back after its lease, the unacked message is delivered again, and the
    next relay delivers both."""
    prefix, _ = broker
    handled: list[tuple[str, str]] = []
    block = asyncio.Event()

    def handler_for(name: str) -> Callable[[OutboxItem], Any]:
        async def handler(event: OutboxItem) -> None:
            if name == "first" and event.payload.get("n") == 1:
                await block.wait()  # never set: this relay is stopped under it
            handled.append((name, event.key))

        return handler

    first = OutboxRelay(
        store, AMQP_URL, {"webhook": handler_for("first")}, prefix=prefix, poll_s=0.05, lease_s=1.0, stop_grace_s=0.2
    )
    await first.start()
    in_consumer = store.add("acme", "webhook", {"n": 1})
    await until(lambda: store.row(in_consumer).status == "sent")  # published and confirmed; being handled
    # the broker stops confirming: the next event is claimed and published, never confirmed
    real_publish = first._exchange.publish
    hang = asyncio.Event()

    async def unconfirmed(*args: Any, **kwargs: Any) -> Any:
        await hang.wait()
        return await real_publish(*args, **kwargs)

    first._exchange.publish = unconfirmed
    unsent = store.add("acme", "webhook", {"n": 2})
    first.notify()
    await until(
        lambda: (
            store.row(unsent).available_at is not None and store.row(unsent).available_at > store.row(unsent).created_at
        )
    )
    await first.stop()  # as a crash would: the publish and the handler cut off
    assert handled == []
    assert store.row(unsent).status == "pending"

    second = OutboxRelay(store, AMQP_URL, {"webhook": handler_for("second")}, prefix=prefix, poll_s=0.05, lease_s=5.0)
    await second.start()
    try:
        keys = {store.row(i).idempotency_key for i in (in_consumer, unsent)}
        await until(lambda: {k for _, k in handled} == keys, timeout=10)
        await until(lambda: store.row(unsent).status == "sent")
        await asyncio.sleep(0.3)
        assert sorted(handled) == sorted(("second", k) for k in keys)  # each once, by the new relay
    finally:
        await second.stop()


async def test_a_broker_that_is_down_does_not_stop_the_instance(store: _Store) -> None:
    """Unreachable at start: start() returns, nothing is claimed (the events wait in the table), the relay keeps
    trying in the background and stops cleanly."""
    relay = OutboxRelay(store, "amqp://guest:guest@127.0.0.1:9/", {"webhook": lambda e: asyncio.sleep(0)}, poll_s=0.05)
    t0 = time.monotonic()
    await relay.start()
    try:
        assert time.monotonic() - t0 < 5
        event_id = store.add("acme", "webhook", {"n": 1})
        relay.notify()
        await asyncio.sleep(0.5)
        row = store.row(event_id)
        assert (row.status, row.attempts, row.available_at) == ("pending", 0, row.created_at)  # never claimed
        assert relay._connect_failures >= 1
    finally:
        await relay.stop()
