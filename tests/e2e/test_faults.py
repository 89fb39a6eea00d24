"""Faults between kefu and what it depends on. One kefu (a real uvicorn server) talks to the real PostgreSQL, Redis
and RabbitMQ and to an OpenAI-compatible STAND-IN engine process (bench/standin_engine.py: canned text, not a
model), each through a fault-injecting proxy (tests/faultproxy.py) that cuts, resets, delays or partitions its
connections. Each test breaks one of them while customers talk, heals it, and checks what docs/operations.md
("Faults") promises:

- the customer gets an answer (degraded when the engine is away) or, when the database itself is away, a clear
  503 in Chinese and English; never a 500, never a stack trace;
- every turn that got its 200 is in the messages table with the reply that was sent, read straight from
  PostgreSQL (not through the proxy);
- kefu recovers by itself once the proxy heals, without a restart.

The output guard is off here: the stand-in's canned text is about nothing, and the guard is not what is tested."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import itertools
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from pydantic import SecretStr

from bench.standin_engine import TOKENS
from kefu.app import create_app
from kefu.conversation.cache import SharedAnswerCache, shared_prefix
from kefu.ops.settings import AuthSettings, EngineSettings, GuardSettings, RateLimits
from kefu.services import Services
from kefu.store.models import Message, OutboxEvent
from tests.conftest import (
    ServerThread,
    delete_outbox_topology,
    free_port,
    fresh_pg_database,
    make_settings,
    missing,
    sse_events,
    until,
)
from tests.faultproxy import FaultProxy

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
FAST_TOKENS = 12  # the engine's reply: its first 12 tokens, at once
SLOW_TOKENS, SLOW_RATE = 30, 25.0  # 1.2 s a reply: long enough to break it mid-stream
FIRST_TOKEN_TIMEOUT_S = 1.5
ENGINE_REPLY = "".join(TOKENS[:FAST_TOKENS])
ANSWERED_BY_ENGINE = "openai:standin"
HAN = re.compile(r"[\u4e00-\u9fff]")
_counter = itertools.count(1)


# --- the parts --------------------------------------------------------------------------------------------------
class Standin:
    """bench/standin_engine.py in a process of its own: an OpenAI-compatible STAND-IN engine (not a model) that
    streams its canned tokens. Killed with SIGKILL and restarted on the same port by the tests."""

    def __init__(self, log: Path, tokens: int, rate: float) -> None:
        self.port = free_port()
        self.log = log
        self.args = [
            sys.executable,
            "-m",
            "bench.standin_engine",
            "--port",
            str(self.port),
            "--first-token",
            "0",
            "--tokens",
            str(tokens),
            "--rate",
            str(rate),
        ]
        self.proc: subprocess.Popen | None = None

    def start(self) -> Standin:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        models = f"http://127.0.0.1:{self.port}/v1/models"

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-2000:]
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(models, timeout=1).status_code == 200
            return False

        until(up, 20, "the stand-in engine to listen")
        return self

    def kill(self) -> None:
        """SIGKILL: no goodbye on its connections."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass
class Hook:
    """The company's webhook endpoint (a real HTTP server): records each delivery's event id, answers 200."""

    url: str = ""
    deliveries: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[str]:
        with self.lock:
            return [d["event_id"] for d in self.deliveries]


@contextlib.contextmanager
def webhook() -> Iterator[Hook]:
    hook = Hook()

    class Receive(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with hook.lock:
                hook.deliveries.append({"event_id": self.headers["X-Kefu-Event-Id"], "body": body})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receive)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Stack:
    url: str
    services: Services
    pg: FaultProxy
    redis: FaultProxy
    amqp: FaultProxy
    engine: FaultProxy
    fast: Standin
    slow: Standin
    hook: Hook
    db: sa.Engine  # PostgreSQL straight, not through the proxy: what was really stored
    http: httpx.Client

    def heal_all(self) -> None:
        for proxy in (self.pg, self.redis, self.amqp, self.engine):
            proxy.heal()
        self.engine.retarget(self.fast.port)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    for port, what in ((6379, "Redis"), (5672, "RabbitMQ")):
        if not _listening(port):
            missing(f"{what} not reachable at 127.0.0.1:{port}")
    tmp = tmp_path_factory.mktemp("faults")
    prefix = f"kefufaults.{uuid.uuid4().hex[:8]}"
    with contextlib.ExitStack() as es:
        pg_url = es.enter_context(fresh_pg_database("kefu_faults"))
        proxies = {
            name: es.enter_context(FaultProxy(port, name=name))
            for name, port in (("pg", 5432), ("redis", 6379), ("amqp", 5672))
        }
        es.callback(_delete_queues, prefix)
        fast = Standin(tmp / "fast.log", FAST_TOKENS, 1000.0)
        slow = Standin(tmp / "slow.log", SLOW_TOKENS, SLOW_RATE)
        for engine in (fast, slow):
            es.callback(engine.stop)
            engine.start()
        engine_proxy = es.enter_context(FaultProxy(fast.port, name="engine"))
        hook = es.enter_context(webhook())
        db = sa.create_engine(pg_url)
        es.callback(db.dispose)
        settings = make_settings(
            tmp,
            database_url=pg_url.replace("127.0.0.1:5432", proxies["pg"].address),
            redis_url=f"redis://{proxies['redis'].address}/0",
            amqp_url=SecretStr(f"amqp://guest:guest@{proxies['amqp'].address}/"),
            webhook_url=hook.url,
            webhook_secret=SecretStr("faults-secret"),
            outbox_prefix=prefix,
            outbox_poll_s=0.1,
            database_timeout_s=2.0,  # a partitioned database: the turn's 503 within the client's patience
            kb_embedder="none",  # keyword search: the indexes build in a moment
            engine=EngineSettings(
                backend="openai",
                base_url=f"http://{engine_proxy.address}/v1",
                model="standin",
                first_token_timeout_s=FIRST_TOKEN_TIMEOUT_S,
                timeout_s=5.0,
            ),
            guard=GuardSettings(vault_key_file=str(tmp / "vault.key"), related=False, output="off"),
            # the customer limit is counted (in Redis: a key that lives 0.6 s a turn), never reached (one customer or
            # session per test, a few turns each)
            auth=AuthSettings(
                jwt_key_file=str(tmp / "jwt.keys"), rate_limits=RateLimits(customer=100, ip=0, api_key=0, login=0)
            ),
        )
        es.callback(_delete_keys, shared_prefix(settings.database_url) + "*")  # the answers this kefu shared
        app = create_app(settings, configure_logs=False)
        server = es.enter_context(ServerThread(app))
        client = es.enter_context(httpx.Client(base_url=server.url, timeout=20))
        until(lambda: client.get("/readyz").status_code == 200, 60, "kefu ready")
        s = Stack(
            server.url,
            app.state.services,
            proxies["pg"],
            proxies["redis"],
            proxies["amqp"],
            engine_proxy,
            fast,
            slow,
            hook,
            db,
            client,
        )
        es.callback(s.heal_all)  # the first thing undone: kefu then stops with everything back
        yield s


def _delete_keys(pattern: str) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2)
    try:
        for key in client.scan_iter(pattern):
            client.delete(key)
    finally:
        client.close()


def _delete_queues(prefix: str) -> None:
    asyncio.run(delete_outbox_topology("amqp://guest:guest@127.0.0.1:5672/", prefix))


@pytest.fixture(autouse=True)
def healed(stack: Stack) -> Iterator[None]:
    """Every test starts and ends with every connection healthy."""
    stack.heal_all()
    yield
    stack.heal_all()


# --- helpers ----------------------------------------------------------------------------------------------------


@dataclass
class Turn:
    question: str
    status: int
    body: dict
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == 200


def question(topic: str = "问题") -> str:
    """A question of its own (the answer cache never has it): one the engine answers."""
    return f"请问第{next(_counter)}个{topic}怎么处理？"


def turn(stack: Stack, text: str, session: str | None = None, customer: str | None = None) -> Turn:
    body: dict[str, Any] = {"text": text}
    if session is not None:
        body["session_id"] = session
    if customer is not None:
        body["customer_id"] = customer
    t0 = time.monotonic()
    r = stack.http.post("/api/chat", json=body)
    t = Turn(text, r.status_code, r.json(), time.monotonic() - t0)
    customer_facing(t)
    return t


def customer_facing(t: Turn) -> None:
    """What a customer may see: a reply (200), or the database's 503 in Chinese first, with English beside it."""
    raw = json.dumps(t.body, ensure_ascii=False)
    assert "Traceback" not in raw and "sqlalchemy" not in raw.lower() and "psycopg" not in raw.lower(), raw
    if t.status == 200:
        assert t.body["text"].strip(), t.body
        return
    assert t.status == 503, (t.status, t.body)
    error = t.body["error"]
    assert error["code"] == "unavailable", error
    zh, _, en = error["message"].partition(" / ")
    assert HAN.match(zh) and en and not HAN.search(en), error["message"]


def generated(t: Turn) -> bool:
    return t.ok and t.body["answered_by"] == ANSWERED_BY_ENGINE and not t.body["degraded"]


def degraded(t: Turn) -> bool:
    return t.ok and t.body["degraded"] and t.body["answered_by"] != ANSWERED_BY_ENGINE


def recorded(stack: Stack, turns: list[Turn]) -> None:
    """Each accepted turn is in the messages table: the customer's message, then the reply as it was sent."""
    m = Message.__table__
    for t in turns:
        assert t.ok
        sid, mid = t.body["session_id"], t.body["message_id"]
        assert mid is not None, t.body
        with stack.db.connect() as c:
            rows = c.execute(
                sa.select(m.c.id, m.c.role, m.c.text, m.c.degraded).where(m.c.session_id == sid).order_by(m.c.id)
            ).all()
        at = [i for i, r in enumerate(rows) if r.id == mid]
        assert at, f"reply {mid} of session {sid} not stored: {rows}"
        reply, asked = rows[at[0]], rows[at[0] - 1]
        assert (reply.role, reply.text, reply.degraded) == ("assistant", t.body["text"], t.body["degraded"])
        assert (asked.role, asked.text) == ("user", t.question), rows


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def fallbacks() -> dict[str, float]:
    return {
        "cache": sample("kefu_shared_state_fallback_total", part="cache"),
        "lock": sample("kefu_shared_state_fallback_total", part="lock"),
        "ratelimit": sample("kefu_ratelimit_fallback_total"),
    }


def sse_turn(stack: Stack, text: str, on_first_delta: Callable[[], None]) -> list[tuple[str, dict]]:
    """A streamed turn; `on_first_delta` runs as soon as the first piece of the reply has arrived."""
    events: list[tuple[str, dict]] = []
    with stack.http.stream("POST", "/api/chat/stream", json={"text": text}) as r:
        assert r.status_code == 200
        name = ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
                if name == "delta" and sum(1 for n, _ in events if n == "delta") == 1:
                    on_first_delta()
    return events


def streamed(events: list[tuple[str, dict]]) -> tuple[str, dict]:
    """The text a streamed turn sent and its `done` event (a stream that ended with an error fails here)."""
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-1] == "done" and "error" not in names, events
    done = events[-1][1]
    text = "".join(d["text"] for n, d in events if n == "delta")
    assert done["text"] == text
    return text, done


# --- PostgreSQL -------------------------------------------------------------------------------------------------
def test_postgres_cut_turns_answer_503_and_kefu_recovers_without_restart(stack: Stack) -> None:
    first = turn(stack, question())
    assert generated(first)
    sid = first.body["session_id"]
    stack.pg.cut()
    down = [turn(stack, question(), session=sid), turn(stack, question()), turn(stack, question(), customer="c-pg")]
    assert [t.status for t in down] == [503, 503, 503], [t.body for t in down]
    # streamed: the 503 before the stream, or (a new session, whose bot profile is cached) an error event after `meta`
    with stack.http.stream("POST", "/api/chat/stream", json={"text": question()}) as r:
        body = r.read().decode()
    if r.status_code == 200:
        events = sse_events(body)
        assert [n for n, _ in events] == ["meta", "error"], events
        customer_facing(Turn("", 503, events[-1][1], 0.0))
    else:
        customer_facing(Turn("", r.status_code, json.loads(body), 0.0))
    ready = stack.http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["database"] is False
    stack.pg.heal()
    # the pool drops its dead connections by itself: the very next turns are answered, in the old session too
    after = [turn(stack, question(), session=sid), turn(stack, question())]
    assert all(generated(t) for t in after), [t.body for t in after]
    recorded(stack, [first, *after])
    assert stack.http.get("/readyz").status_code == 200


def test_postgres_reset_between_turns_is_invisible(stack: Stack) -> None:
    first = turn(stack, question())
    sid = first.body["session_id"]
    stack.pg.reset()  # every pooled connection is dead now; new ones pass
    after = [turn(stack, question(), session=sid), turn(stack, question()), turn(stack, question(), session=sid)]
    assert all(generated(t) for t in after), [t.body for t in after]
    recorded(stack, [first, *after])


def test_postgres_reset_during_turns(stack: Stack) -> None:
    """Connections reset while customers keep talking (two at a time, each turn's statements slowed so that the
    resets land mid-turn): a turn caught by a reset gets the 503, every other turn is answered and stored, and the
    turns after the resets are answered."""
    stack.pg.delay(10)
    results: list[Turn] = []
    lock = threading.Lock()
    stop = threading.Event()

    def customer() -> None:
        sid = None
        while not stop.is_set():
            t = turn(stack, question(), session=sid)
            sid = t.body["session_id"] if t.ok else sid
            with lock:
                results.append(t)

    threads = [threading.Thread(target=customer) for _ in range(2)]
    for th in threads:
        th.start()
    try:
        until(lambda: sum(t.ok for t in results) >= 2, 10, "turns answered before the resets")
        for _ in range(2):
            stack.pg.reset()
            seen = len(results)
            until(lambda: len(results) >= seen + 2, 10, "turns after a reset")  # noqa: B023 (read at once)
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=30)
    assert {t.status for t in results} <= {200, 503}
    assert results[-1].ok and sum(t.ok for t in results) >= 4, [t.status for t in results]
    recorded(stack, [t for t in results if t.ok])
    stack.pg.heal()
    after = [turn(stack, question()) for _ in range(2)]
    assert all(generated(t) for t in after), [t.body for t in after]
    recorded(stack, after)


def test_postgres_delayed_turns_are_slower_and_stored(stack: Stack) -> None:
    warm = [turn(stack, question()), turn(stack, question())]  # the second: nothing left to warm up
    stack.pg.delay(25)  # each way, each chunk: a database far away
    slow = [turn(stack, question()), turn(stack, question())]
    stack.pg.reset()
    stack.pg.delay(400, per="connection")  # and slow to connect: the pool reconnects under it
    slower = turn(stack, question(), session=slow[0].body["session_id"])
    assert all(generated(t) for t in [*warm, *slow, slower])
    # a turn makes a dozen round trips or more: at 50 ms each, the delay shows
    assert min(t.seconds for t in slow) > warm[1].seconds + 0.3 and slower.seconds > 0.4
    recorded(stack, [*warm, *slow, slower])


def test_postgres_partition_the_turn_is_answered_in_time(stack: Stack) -> None:
    """Connections accepted and never answered: each database call has a deadline (`database_timeout_s`), so
    the customer gets the 503 in time instead of a wait without end, and kefu answers again once healed."""
    stack.pg.blackhole()
    try:
        r = stack.http.post("/api/chat", json={"text": question()}, timeout=4)
        customer_facing(Turn("", r.status_code, r.json(), 0.0))
    finally:
        stack.pg.heal()  # the stalled connections are reset: their threads get the error and go back to work
        after = turn(stack, question())
        assert generated(after), after.body


# --- Redis ------------------------------------------------------------------------------------------------------
def _redis_keys(pattern: str) -> list[bytes]:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2)
    try:
        return list(client.scan_iter(pattern))
    finally:
        client.close()


def _redis_parts_in_use(stack: Stack, customer: str, sid: str) -> bool:
    """Two turns that counted their limit in Redis, took the session's lock there and looked up the shared cache
    (no fallback counted during them), the second a new session's first question, whose answer the shared cache
    then holds in Redis."""
    cache = stack.services.pipeline.cache
    assert isinstance(cache, SharedAnswerCache)
    pattern = cache.prefix + "*"
    stored, before = len(_redis_keys(pattern)), fallbacks()
    turns = [turn(stack, question(), session=sid, customer=customer), turn(stack, question(), customer=customer)]
    assert all(generated(t) for t in turns), [t.body for t in turns]
    if fallbacks() != before:
        return False
    until(lambda: len(_redis_keys(pattern)) > stored, 5, "the answer in the shared cache")
    return True


def test_redis_cut_falls_back_counts_warns_and_recovers(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    customer = f"redis-cut-{uuid.uuid4().hex[:8]}"
    first = turn(stack, question(), customer=customer)
    sid = first.body["session_id"]
    assert generated(first) and _redis_parts_in_use(stack, customer, sid)
    before = fallbacks()
    stack.redis.cut()
    with caplog.at_level(logging.WARNING):
        down = [
            turn(stack, question(), session=sid, customer=customer),  # rate limit and session lock: in-process
            turn(stack, question(), session=sid, customer=customer),
            turn(stack, question(), customer=customer),  # a first question: the shared cache looked up
        ]
    assert all(generated(t) for t in down), [t.body for t in down]
    after = fallbacks()
    assert all(after[part] > before[part] for part in after), (before, after)
    warned = {r.name for r in caplog.records if r.levelno == logging.WARNING and "Redis unavailable" in r.getMessage()}
    assert {"kefu.conversation.cache", "kefu.conversation.sessions", "kefu.ops.ratelimit"} <= warned, warned
    ready = stack.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["redis"] is False  # still ready
    stack.redis.heal()
    until(lambda: _redis_parts_in_use(stack, customer, sid), 10, "Redis in use again", every_s=0.3)
    recorded(stack, [first, *down])


def test_redis_partition_turns_stay_fast_and_recover(stack: Stack) -> None:
    customer = f"redis-part-{uuid.uuid4().hex[:8]}"
    first = turn(stack, question(), customer=customer)
    sid = first.body["session_id"]
    assert generated(first)
    before = fallbacks()
    stack.redis.blackhole()  # connections accepted, nothing answered: only kefu's own 0.25 s limits end the waits
    down = [turn(stack, question(), session=sid, customer=customer) for _ in range(3)]
    down.append(turn(stack, question(), customer=customer))
    assert all(generated(t) for t in down), [t.body for t in down]
    assert max(t.seconds for t in down) < 3.0, [round(t.seconds, 2) for t in down]
    after = fallbacks()
    assert all(after[part] > before[part] for part in after), (before, after)
    stack.redis.heal()
    until(lambda: _redis_parts_in_use(stack, customer, sid), 10, "Redis in use again", every_s=0.3)
    recorded(stack, [first, *down])


# --- RabbitMQ ---------------------------------------------------------------------------------------------------
def _handoff_events(stack: Stack, sessions: set[str]) -> dict[str, sa.Row]:
    t = OutboxEvent.__table__
    with stack.db.connect() as c:
        rows = c.execute(sa.select(t).where(t.c.kind == "handoff")).all()
    return {r.payload["session_id"]: r for r in rows if r.payload["session_id"] in sessions}


def test_rabbitmq_cut_events_wait_in_the_outbox_and_go_out_after_healing(stack: Stack) -> None:
    # the relay is connected: a hand-off's event reaches the company's endpoint
    warm = turn(stack, "转人工")
    assert warm.ok and warm.body["handed_off"]
    key = until(lambda: _handoff_events(stack, {warm.body["session_id"]}), 10, "the event written")
    key = next(iter(key.values())).idempotency_key
    until(lambda: key in stack.hook.received(), 15, "the first event delivered")

    stack.amqp.cut()
    handoffs = [turn(stack, "转人工") for _ in range(3)]
    assert all(t.ok and t.body["handed_off"] for t in handoffs), [t.body for t in handoffs]
    sessions = {t.body["session_id"] for t in handoffs}
    events = until(lambda: len(ev := _handoff_events(stack, sessions)) == 3 and ev, 10, "the events written")
    keys = {r.idempotency_key for r in events.values()}
    time.sleep(1.0)  # the relay polls every 0.1 s: a second is ten chances to lose or send them
    events = _handoff_events(stack, sessions)
    assert {r.status for r in events.values()} == {"pending"}, {r.status for r in events.values()}
    assert not keys & set(stack.hook.received())
    ready = stack.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["amqp"] is False  # still ready

    stack.amqp.heal()
    until(lambda: keys <= set(stack.hook.received()), 30, "every held event delivered after healing")
    until(lambda: {r.status for r in _handoff_events(stack, sessions).values()} == {"sent"}, 10, "all marked sent")
    time.sleep(0.5)  # a duplicate delivery, if any, arrives by now
    # at least once, each delivery under its event's id with the same body: an idempotent consumer, keeping the first
    # of each id, has every event exactly once; nothing made up
    deliveries = [d for d in stack.hook.deliveries if d["event_id"] in keys]
    bodies = {d["event_id"]: d["body"] for d in deliveries}
    assert all(d["body"] == bodies[d["event_id"]] for d in deliveries)
    assert len(bodies) == 3 and {b["payload"]["session_id"] for b in bodies.values()} == sessions
    recorded(stack, [warm, *handoffs])


# --- the engine -------------------------------------------------------------------------------------------------
def test_engine_cut_the_customer_gets_the_degraded_reply_then_the_engine_again(stack: Stack) -> None:
    stack.engine.cut()
    down = [turn(stack, question()), turn(stack, question())]
    assert all(degraded(t) for t in down), [t.body for t in down]
    stack.engine.heal()
    after = turn(stack, question())
    assert generated(after) and after.body["text"] == ENGINE_REPLY, after.body
    recorded(stack, [*down, after])


def test_engine_reset_and_partition(stack: Stack) -> None:
    stack.engine.reset(persist=True)  # every connection reset as it opens
    reset = turn(stack, question())
    stack.engine.blackhole()  # accepted, never answered: the first-token limit ends the wait
    hole = turn(stack, question())
    assert degraded(reset) and degraded(hole), (reset.body, hole.body)
    assert FIRST_TOKEN_TIMEOUT_S - 0.1 < hole.seconds < FIRST_TOKEN_TIMEOUT_S + 3
    stack.engine.heal()
    after = turn(stack, question())
    assert generated(after), after.body
    recorded(stack, [reset, hole, after])


def test_engine_delayed(stack: Stack) -> None:
    stack.engine.delay(20)  # a slower engine: still its reply
    slow = turn(stack, question())
    assert generated(slow) and slow.body["text"] == ENGINE_REPLY, slow.body
    stack.engine.reset()  # the engine client's kept-alive connections are gone: the next request connects
    stack.engine.delay(FIRST_TOKEN_TIMEOUT_S * 1000 + 1000, per="connection")  # slower than the first-token limit
    late = turn(stack, question())
    assert degraded(late), late.body
    stack.engine.heal()
    after = turn(stack, question())
    assert generated(after), after.body
    recorded(stack, [slow, late, after])


def _last_reply(stack: Stack, sid: str) -> sa.Row:
    m = Message.__table__
    with stack.db.connect() as c:
        return c.execute(
            sa.select(m.c.id, m.c.role, m.c.text, m.c.degraded)
            .where(m.c.session_id == sid)
            .order_by(m.c.id.desc())
            .limit(1)
        ).one()


def test_engine_reset_mid_stream(stack: Stack) -> None:
    stack.engine.retarget(stack.slow.port)
    events = sse_turn(stack, question(), on_first_delta=stack.engine.reset)
    text, done = streamed(events)
    assert done["degraded"] is True and text.startswith(TOKENS[0]) and "回复中断" in text, text
    row = until(lambda: _last_reply(stack, done["session_id"]), 5, "the reply recorded")
    assert (row.role, row.text, row.degraded, row.id) == ("assistant", text, True, done["message_id"])


def test_engine_killed_mid_stream_and_restarted(stack: Stack) -> None:
    """The engine's process dies (SIGKILL) while it streams a reply: the customer gets what was sent and a note
    that the reply was interrupted, not an error; the turn is recorded as sent; once the engine is back (restarted
    on its port), the next turn is the engine's again."""
    stack.engine.retarget(stack.slow.port)
    try:
        events = sse_turn(stack, question(), on_first_delta=stack.slow.kill)
        text, done = streamed(events)
        assert done["degraded"] is True and text.startswith(TOKENS[0]) and "回复中断" in text, text
        assert len(text) < len("".join(TOKENS[:SLOW_TOKENS]))
        row = _last_reply(stack, done["session_id"])
        assert (row.role, row.text, row.degraded, row.id) == ("assistant", text, True, done["message_id"])
        while_down = turn(stack, question(), session=done["session_id"])
        assert degraded(while_down), while_down.body
    finally:
        if stack.slow.proc is not None and stack.slow.proc.poll() is not None:
            stack.slow.start()  # restarted on the same port
    back = turn(stack, question(), session=done["session_id"])
    assert generated(back) and back.body["text"] == "".join(TOKENS[:SLOW_TOKENS]), back.body
    recorded(stack, [while_down, back])
