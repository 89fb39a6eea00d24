"""Rate limits: GCRA in-process (with a fake clock) and in a real Redis at 127.0.0.1:6379."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from kefu.ops.ratelimit import LocalRateLimiter, RateLimiter, RedisRateLimiter, rate_limiter
from tests.faultproxy import FaultProxy

REDIS_URL = "redis://127.0.0.1:6379/0"
DOWN_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fallbacks() -> float:
    return REGISTRY.get_sample_value("kefu_ratelimit_fallback_total") or 0.0


@pytest.fixture
async def prefix(redis_client: aioredis.Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards (they would expire anyway)."""
    p = f"kefu:test:rl:{uuid.uuid4().hex}:"
    yield p
    keys = [k async for k in redis_client.scan_iter(match=p + "*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
async def make_redis() -> AsyncIterator[Callable[..., RedisRateLimiter]]:
    made: list[RedisRateLimiter] = []

    def make(url: str = REDIS_URL, prefix: str = "kefu:rl:") -> RedisRateLimiter:
        made.append(RedisRateLimiter(url, prefix=prefix))
        return made[-1]

    yield make
    for limiter in made:
        await limiter.aclose()


async def fill(limiter: RateLimiter, key: str, limit: int, window_s: float) -> list[float | None]:
    return [await limiter.hit(key, limit, window_s) for _ in range(limit)]


# --- in-process ---------------------------------------------------------------------------------------------


async def test_local_allows_up_to_the_limit_then_refuses() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock)
    assert await fill(limiter, "ip:1", 5, 10.0) == [None] * 5
    retry = await limiter.hit("ip:1", 5, 10.0)
    assert retry is not None and 0 < retry <= 10.0
    assert retry == pytest.approx(2.0)  # one request every window / limit
    assert await limiter.hit("ip:1", 5, 10.0) == pytest.approx(2.0)  # refusals are not counted


async def test_local_retry_after_is_when_a_request_passes_again() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock)
    await fill(limiter, "k", 4, 8.0)
    retry = await limiter.hit("k", 4, 8.0)
    assert retry is not None
    clock.now += retry * 0.99
    assert await limiter.hit("k", 4, 8.0) is not None
    clock.now += retry * 0.02
    assert await limiter.hit("k", 4, 8.0) is None
    assert await limiter.hit("k", 4, 8.0) is not None


async def test_local_window_passing_restores_the_whole_limit() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock)
    await fill(limiter, "k", 3, 1.0)
    assert await limiter.hit("k", 3, 1.0) is not None
    clock.now += 1.0
    assert await fill(limiter, "k", 3, 1.0) == [None] * 3
    assert await limiter.hit("k", 3, 1.0) is not None


async def test_local_limit_one_waits_at_most_the_window() -> None:
    limiter = LocalRateLimiter(clock=FakeClock())
    assert await limiter.hit("k", 1, 60.0) is None
    retry = await limiter.hit("k", 1, 60.0)
    assert retry is not None and 0 < retry <= 60.0


async def test_local_keys_are_independent() -> None:
    limiter = LocalRateLimiter(clock=FakeClock())
    await fill(limiter, "a", 2, 60.0)
    assert await limiter.hit("a", 2, 60.0) is not None
    assert await fill(limiter, "b", 2, 60.0) == [None, None]


async def test_local_unlimited_counts_nothing() -> None:
    limiter = LocalRateLimiter(clock=FakeClock())
    for limit in (0, -1):
        assert [await limiter.hit("k", limit) for _ in range(1000)] == [None] * 1000
    assert len(limiter) == 0


async def test_local_memory_is_bounded_least_recent_first() -> None:
    limiter = LocalRateLimiter(max_keys=3, clock=FakeClock())
    for key in "abc":
        assert await limiter.hit(key, 1) is None
    assert await limiter.hit("a", 1) is not None  # touches a: b is now the least recent
    assert await limiter.hit("d", 1) is None
    assert len(limiter) == 3
    assert await limiter.hit("a", 1) is not None  # kept
    assert await limiter.hit("b", 1) is None  # forgotten, so a fresh burst
    for i in range(1000):
        await limiter.hit(f"flood:{i}", 1)
    assert len(limiter) == 3


def test_local_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        LocalRateLimiter(max_keys=0)
    with pytest.raises(ValueError):
        LocalRateLimiter().hit_now("k", 1, 0.0)


async def test_rate_limiter_picks_the_backend() -> None:
    local = rate_limiter(None)
    assert isinstance(local, LocalRateLimiter)
    assert isinstance(rate_limiter(""), LocalRateLimiter)
    shared = rate_limiter(DOWN_URL)
    assert isinstance(shared, RedisRateLimiter)
    await shared.aclose()
    await local.aclose()


# --- Redis --------------------------------------------------------------------------------------------------


async def test_redis_allows_up_to_the_limit_then_refuses(
    make_redis: Callable[..., RedisRateLimiter], prefix: str, redis_client: aioredis.Redis
) -> None:
    limiter = make_redis(prefix=prefix)
    before = fallbacks()
    assert await fill(limiter, "ip:1", 5, 10.0) == [None] * 5
    retry = await limiter.hit("ip:1", 5, 10.0)
    assert retry is not None and 0 < retry <= 2.0  # at most window / limit
    assert fallbacks() == before
    ttl_ms = await redis_client.pttl(prefix + "ip:1")
    assert 0 < ttl_ms <= 10_000  # the key expires by itself


async def test_redis_keys_are_independent(make_redis: Callable[..., RedisRateLimiter], prefix: str) -> None:
    limiter = make_redis(prefix=prefix)
    await fill(limiter, "a", 2, 60.0)
    assert await limiter.hit("a", 2, 60.0) is not None
    assert await fill(limiter, "b", 2, 60.0) == [None, None]


async def test_redis_window_passing_lets_requests_through(
    make_redis: Callable[..., RedisRateLimiter], prefix: str
) -> None:
    limiter = make_redis(prefix=prefix)
    window = 1.0
    assert await fill(limiter, "k", 2, window) == [None] * 2
    retry = await limiter.hit("k", 2, window)
    assert retry is not None and 0 < retry <= window
    await asyncio.sleep(retry + 0.01)
    assert await limiter.hit("k", 2, window) is None  # one more after Retry-After
    assert await limiter.hit("k", 2, window) is not None  # and only one: the next is half a window away
    await asyncio.sleep(window + 0.01)
    assert await fill(limiter, "k", 2, window) == [None] * 2  # the whole limit after a window


async def test_two_instances_share_one_count(make_redis: Callable[..., RedisRateLimiter], prefix: str) -> None:
    one, two = make_redis(prefix=prefix), make_redis(prefix=prefix)
    assert await one.hit("ip:9", 3, 60.0) is None
    assert await two.hit("ip:9", 3, 60.0) is None
    assert await one.hit("ip:9", 3, 60.0) is None
    assert await two.hit("ip:9", 3, 60.0) is not None
    assert await one.hit("ip:9", 3, 60.0) is not None


async def test_redis_unlimited_counts_nothing(
    make_redis: Callable[..., RedisRateLimiter], prefix: str, redis_client: aioredis.Redis
) -> None:
    limiter = make_redis(prefix=prefix)
    assert [await limiter.hit("k", 0) for _ in range(50)] == [None] * 50
    assert await limiter.hit("k", -5) is None
    assert await redis_client.exists(prefix + "k") == 0


async def test_redis_reloads_a_flushed_script(
    make_redis: Callable[..., RedisRateLimiter], prefix: str, redis_client: aioredis.Redis
) -> None:
    # A restarted Redis has lost its script cache: EVALSHA fails once, the script is loaded again, no fallback.
    limiter = make_redis(prefix=prefix)
    assert await limiter.hit("k", 2, 60.0) is None
    await redis_client.script_flush()
    before = fallbacks()
    assert await limiter.hit("k", 2, 60.0) is None
    assert await limiter.hit("k", 2, 60.0) is not None
    assert fallbacks() == before


async def test_redis_down_limits_locally(
    make_redis: Callable[..., RedisRateLimiter], caplog: pytest.LogCaptureFixture
) -> None:
    limiter = make_redis(DOWN_URL)
    limiter.retry_after_failure_s = 0.0  # try Redis on every hit: still one warning, no exception
    before = fallbacks()
    with caplog.at_level(logging.WARNING, logger="kefu.ops.ratelimit"):
        assert await fill(limiter, "ip:1", 2, 60.0) == [None, None]
        retry = await limiter.hit("ip:1", 2, 60.0)
        assert await limiter.hit("other", 2, 60.0) is None
    assert retry is not None and 0 < retry <= 60.0
    assert fallbacks() == before + 4
    warnings = [r for r in caplog.records if r.name == "kefu.ops.ratelimit"]
    assert len(warnings) == 1 and "Redis unavailable" in warnings[0].getMessage()


async def test_redis_recovers_when_it_comes_back(
    make_redis: Callable[..., RedisRateLimiter], prefix: str, redis_client: aioredis.Redis
) -> None:
    with FaultProxy(6379, name="redis").start() as proxy:
        proxy.cut()  # Redis is down: nothing listens
        limiter = make_redis(f"redis://{proxy.address}/0", prefix=prefix)
        limiter.retry_after_failure_s = 0.05
        before = fallbacks()
        try:
            assert await limiter.hit("k", 5, 60.0) is None  # refused: counted in-process
            assert await limiter.hit("k", 5, 60.0) is None  # within the back-off: Redis is not even tried
            assert fallbacks() == before + 2
            assert await redis_client.exists(prefix + "k") == 0
            proxy.heal()
            await asyncio.sleep(0.06)
            assert await limiter.hit("k", 5, 60.0) is None
            assert fallbacks() == before + 2
            assert await redis_client.exists(prefix + "k") == 1  # counted in Redis again
        finally:
            await limiter.aclose()
