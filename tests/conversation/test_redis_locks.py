"""The session locks shared through a real Redis at 127.0.0.1:6379: one turn of a session at a time across
instances, a crashed holder blocks only until its TTL, only the holder lets go; while Redis is away each
instance locks in-process, and the shared lock resumes when Redis is back."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from kefu.conversation.cache import SharedAnswerCache
from kefu.conversation.sessions import LocalSessionLocks, RedisSessionLocks, session_locks
from kefu.conversation.types import Turn
from kefu.engines.base import ChatMessage, SamplingParams, StreamStats
from kefu.engines.testing import QueueEngine
from kefu.services import Services, build_services
from tests.conftest import make_settings
from tests.faultproxy import FaultProxy

REDIS_URL = "redis://127.0.0.1:6379/0"
DOWN_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def fallbacks() -> float:
    return REGISTRY.get_sample_value("kefu_shared_state_fallback_total", {"part": "lock"}) or 0.0


@pytest.fixture
async def prefix(redis_client: aioredis.Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    p = f"kefu:test:lock:{uuid.uuid4().hex}:"
    yield p
    keys = [k async for k in redis_client.scan_iter(match=p + "*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
async def make_locks(prefix: str) -> AsyncIterator[Callable[..., RedisSessionLocks]]:
    made: list[RedisSessionLocks] = []

    def make(url: str = REDIS_URL, **kw: object) -> RedisSessionLocks:
        made.append(RedisSessionLocks(url, prefix=prefix, **kw))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for locks in made:
        await locks.aclose()


async def settled(*locks: RedisSessionLocks) -> None:
    """The releases sent in the background have reached Redis."""
    for lk in locks:
        if lk._tasks:
            await asyncio.wait(set(lk._tasks), timeout=2)


def overlaps(spans: list[tuple[float, float]]) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    spans = sorted(spans)
    return [(p, q) for p, q in itertools.pairwise(spans) if q[0] < p[1]]


async def test_turns_of_one_session_on_two_instances_never_overlap(
    make_locks: Callable[..., RedisSessionLocks], redis_client: aioredis.Redis
) -> None:
    a, b = make_locks(), make_locks()
    spans: list[tuple[float, float]] = []

    async def turn(locks: RedisSessionLocks) -> None:
        release = await locks.acquire("s1")
        entered = time.perf_counter()
        await asyncio.sleep(0.005)  # the turn's work: other turns would run now if the lock let them
        spans.append((entered, time.perf_counter()))
        release()

    await asyncio.wait_for(asyncio.gather(*(turn(lk) for _ in range(8) for lk in (a, b))), 10)
    await settled(a, b)
    assert len(spans) == 16 and overlaps(spans) == []
    assert len(a) == len(b) == 0
    assert await redis_client.exists(*a.keys("s1")) == 0  # the lock, the queue and the waiters' times are gone


async def test_other_sessions_do_not_wait(make_locks: Callable[..., RedisSessionLocks]) -> None:
    a, b = make_locks(), make_locks()
    release = await a.acquire("s1")
    other = await asyncio.wait_for(b.acquire("s2"), 1)
    new = await asyncio.wait_for(b.acquire(None), 1)  # a new session: nothing to wait for
    other(), new(), release()


async def test_a_second_turn_waits_for_the_first_across_instances(
    make_locks: Callable[..., RedisSessionLocks],
) -> None:
    a, b = make_locks(), make_locks()
    release = await a.acquire("s1")
    waiting = asyncio.ensure_future(b.acquire("s1"))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    release()
    release()  # twice is harmless
    (await asyncio.wait_for(waiting, 1))()


async def test_same_instance_turns_queue_in_memory_not_in_redis(
    make_locks: Callable[..., RedisSessionLocks], redis_client: aioredis.Redis
) -> None:
    a = make_locks()
    release = await a.acquire("s1")
    waiting = asyncio.ensure_future(a.acquire("s1"))
    await asyncio.sleep(0.03)
    assert not waiting.done() and await redis_client.zcard(a.keys("s1")[1]) == 0
    release()
    (await asyncio.wait_for(waiting, 1))()


async def test_a_crashed_holder_blocks_others_only_until_the_ttl(
    make_locks: Callable[..., RedisSessionLocks],
) -> None:
    crashed, b = make_locks(ttl_s=0.4), make_locks()
    await crashed.acquire("s1")  # never released
    await crashed.aclose()  # the instance is gone: nobody renews its lock
    started = time.perf_counter()
    (await asyncio.wait_for(b.acquire("s1"), 3))()
    assert 0.2 < time.perf_counter() - started < 1.0


async def test_a_long_turn_keeps_its_lock_past_the_ttl(make_locks: Callable[..., RedisSessionLocks]) -> None:
    a, b = make_locks(ttl_s=0.3), make_locks()
    release = await a.acquire("s1")
    waiting = asyncio.ensure_future(b.acquire("s1"))
    await asyncio.sleep(1.0)  # over three TTLs: the holder renewed it meanwhile
    assert not waiting.done()
    release()
    (await asyncio.wait_for(waiting, 1))()


async def test_only_the_holder_lets_go(
    make_locks: Callable[..., RedisSessionLocks], redis_client: aioredis.Redis
) -> None:
    a = make_locks(ttl_s=0.3)
    release = await a.acquire("s1")
    lock_key = a.keys("s1")[0]
    # meanwhile a's lock expired (say its loop stalled) and another instance took the session
    await redis_client.set(lock_key, "other-instance", px=5000)
    release()
    await settled(a)
    assert await redis_client.get(lock_key) == b"other-instance"
    # and the release script itself deletes nothing for a token that is not the holder's
    assert await a._release(keys=a.keys("s1"), args=["not-the-holder"]) == 0
    assert await redis_client.get(lock_key) == b"other-instance"


async def test_the_wait_limit_still_applies(
    make_locks: Callable[..., RedisSessionLocks], redis_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    b = make_locks(wait_s=0.1)
    keys = b.keys("s1")
    await redis_client.set(keys[0], "stuck-turn", px=10_000)
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="kefu.conversation.sessions"):
        late = await asyncio.wait_for(b.acquire("s1"), 2)  # goes on after wait_s, out of order
    assert 0.09 < time.perf_counter() - started < 0.5
    assert any("waited too long" in r.getMessage() for r in caplog.records)
    late()
    await settled(b)
    assert await redis_client.get(keys[0]) == b"stuck-turn"  # not its lock: left alone
    assert await redis_client.zcard(keys[1]) == 0 and len(b) == 0  # it left the queue


async def test_a_cancelled_wait_leaves_nothing_behind(
    make_locks: Callable[..., RedisSessionLocks], redis_client: aioredis.Redis
) -> None:
    a, b = make_locks(), make_locks()
    for i in range(30):  # cancelled at any point: sleeping between tries, or mid-try (redis-py must not swallow it)
        release = await a.acquire("s1")
        waiting = asyncio.ensure_future(b.acquire("s1"))
        await asyncio.sleep(0.03 if i == 0 else random.uniform(0, 0.01))
        if i == 0:
            assert await redis_client.zcard(b.keys("s1")[1]) == 1
        assert waiting.cancel()
        (outcome,) = await asyncio.gather(waiting, return_exceptions=True)
        assert isinstance(outcome, asyncio.CancelledError)
        await settled(b)
        assert await redis_client.zcard(b.keys("s1")[1]) == 0 and len(b) == 0
        release()
        await settled(a)
        assert await redis_client.exists(*a.keys("s1")) == 0


async def test_a_turn_cancelled_as_it_takes_the_lock_lets_go_of_it(
    make_locks: Callable[..., RedisSessionLocks], redis_client: aioredis.Redis
) -> None:
    a = make_locks()
    for _ in range(30):
        taking = asyncio.ensure_future(a.acquire("s1"))
        await asyncio.sleep(random.uniform(0, 0.0005))
        if taking.cancel():
            assert isinstance((await asyncio.gather(taking, return_exceptions=True))[0], asyncio.CancelledError)
        else:
            taking.result()()
        await settled(a)
        assert await redis_client.exists(*a.keys("s1")) == 0 and len(a) == 0


async def test_waiting_instances_get_the_lock_in_the_order_they_asked(
    make_locks: Callable[..., RedisSessionLocks], redis_client: aioredis.Redis
) -> None:
    a, b, c = make_locks(), make_locks(), make_locks()
    release = await a.acquire("s1")
    order: list[str] = []

    async def turn(name: str, locks: RedisSessionLocks) -> None:
        r = await locks.acquire("s1")
        order.append(name)
        await asyncio.sleep(0.01)
        r()

    first = asyncio.ensure_future(turn("b", b))
    await asyncio.sleep(0.03)
    second = asyncio.ensure_future(turn("c", c))
    await asyncio.sleep(0.03)
    # a keeps its session busy: one turn after another of its own, each taking the lock the moment it is free
    for _ in range(5):
        release()
        release = await asyncio.wait_for(a.acquire("s1"), 2)
        order.append("a")
    release()
    await asyncio.wait_for(asyncio.gather(first, second), 2)
    assert order[:2] == ["b", "c"]  # the waiting instances were not starved by a's own turns


async def test_a_waiter_that_died_is_dropped_from_the_queue(
    make_locks: Callable[..., RedisSessionLocks], redis_client: aioredis.Redis
) -> None:
    b = make_locks()
    b.stale_ms = 200
    lock_key, queue, seen = b.keys("s1")
    seconds, micros = await redis_client.time()
    now_ms = seconds * 1000 + micros // 1000
    await redis_client.zadd(queue, {"dead-waiter": (seconds - 1) * 1_000_000})  # it asked first, then died
    await redis_client.hset(seen, "dead-waiter", now_ms)  # its last try was just now
    started = time.perf_counter()
    (await asyncio.wait_for(b.acquire("s1"), 2))()
    assert 0.15 < time.perf_counter() - started < 1.0  # waited for it to go silent, no longer
    await settled(b)
    assert await redis_client.exists(lock_key, queue, seen) == 0


def test_the_deployment_picks_the_locks(tmp_path: Path) -> None:
    local = session_locks(make_settings(tmp_path))
    assert type(local) is LocalSessionLocks and local.wait_s == 2.0 + 5.0 + 5
    shared = session_locks(make_settings(tmp_path, redis_url=REDIS_URL, session_lock_ttl_s=9))
    assert type(shared) is RedisSessionLocks and shared.ttl_s == 9 and shared.wait_s == 12.0


# ------------------------------------------------------------------------------------------- Redis down


async def test_redis_down_falls_back_to_the_local_lock(
    make_locks: Callable[..., RedisSessionLocks], caplog: pytest.LogCaptureFixture
) -> None:
    a = make_locks(DOWN_URL)
    a.outage.retry_after_failure_s = 0.0  # try Redis every time: still one warning, never an exception
    before = fallbacks()
    with caplog.at_level(logging.WARNING, logger="kefu.conversation.sessions"):
        release = await asyncio.wait_for(a.acquire("s1"), 2)
        waiting = asyncio.ensure_future(a.acquire("s1"))
        await asyncio.sleep(0.03)
        assert not waiting.done()  # this instance's turns still run one at a time
        release()
        (await asyncio.wait_for(waiting, 2))()
    assert fallbacks() == before + 2
    warnings = [r for r in caplog.records if r.name == "kefu.conversation.sessions"]
    assert len(warnings) == 1 and "Redis unavailable" in warnings[0].getMessage()
    assert len(a) == 0


async def test_the_shared_lock_recovers_when_redis_comes_back(
    make_locks: Callable[..., RedisSessionLocks], redis_client: aioredis.Redis
) -> None:
    with FaultProxy(6379, name="redis").start() as proxy:
        proxy.cut()  # Redis is down: nothing listens
        a, b = make_locks(f"redis://{proxy.address}/0"), make_locks()
        a.outage.retry_after_failure_s = 0.05
        before = fallbacks()
        (await a.acquire("s1"))()  # refused: the local lock only
        assert fallbacks() == before + 1
        proxy.heal()
        await asyncio.sleep(0.06)
        release = await a.acquire("s1")
        assert await redis_client.exists(a.keys("s1")[0]) == 1  # locked in Redis again
        waiting = asyncio.ensure_future(b.acquire("s1"))
        await asyncio.sleep(0.03)
        assert not waiting.done()
        release()
        (await asyncio.wait_for(waiting, 1))()
        assert fallbacks() == before + 1


# ---------------------------------------------------------------------------- two instances' pipelines


class RecordingEngine(QueueEngine):
    """The STAND-IN engine, slowed down, recording when each reply's stream began and ended."""

    def __init__(self, spans: list[tuple[float, float]]) -> None:
        super().__init__(default_reply="好的，这是测试回复。")
        self.spans = spans
        self.token_delay_s = 0.004

    async def stream(
        self, messages: list[ChatMessage], params: SamplingParams, stats: StreamStats | None = None
    ) -> AsyncIterator[str]:
        entered = time.perf_counter()
        try:
            async for delta in super().stream(messages, params, stats):
                yield delta
        finally:
            self.spans.append((entered, time.perf_counter()))


@pytest.fixture
def two_pipelines(tmp_path: Path, prefix: str) -> Iterator[tuple[Services, Services, list[tuple[float, float]]]]:
    settings = make_settings(tmp_path, redis_url=REDIS_URL)
    spans: list[tuple[float, float]] = []
    a = build_services(settings, engine=RecordingEngine(spans))
    b = build_services(settings.model_copy(update={"setup_on_start": False}), engine=RecordingEngine(spans))
    for s in (a, b):  # this test's own keys (another test's database has the same knowledge versions)
        assert isinstance(s.pipeline.sessions, RedisSessionLocks) and isinstance(s.pipeline.cache, SharedAnswerCache)
        s.pipeline.sessions.prefix = prefix
        s.pipeline.cache.prefix = prefix + "ac:"
    yield a, b, spans
    for s in (a, b):
        s.kb.close()
        s.store.close()


async def test_two_instances_answer_one_session_one_turn_at_a_time(
    two_pipelines: tuple[Services, Services, list[tuple[float, float]]],
) -> None:
    a, b, spans = two_pipelines
    first = await (await a.pipeline.answer(Turn("default", "test", "c1", None, "你好呀"))).collect()
    session = first.session_id

    async def turn(s: Services, i: int) -> str:
        reply = await s.pipeline.answer(Turn("default", "test", "c1", session, f"第{i}个问题：你们的会员积分怎么算"))
        return (await reply.collect()).text

    try:
        texts = await asyncio.wait_for(asyncio.gather(*(turn(s, i) for i in range(4) for s in (a, b))), 20)
        assert all(texts)
        assert len(spans) == 9 and overlaps(spans) == []
        messages = a.store.session_messages("default", session)
        assert [m.role for m in messages] == ["user", "assistant"] * 9  # each turn read the one before it
    finally:
        for s in (a, b):
            await s.pipeline.cache.aclose()
            await s.pipeline.sessions.aclose()
