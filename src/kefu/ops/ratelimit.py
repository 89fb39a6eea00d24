"""Request rate limits: shared by every kefu instance through Redis when one is configured, in-process otherwise.

The algorithm is GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp): a key may make
`limit` requests at once and then one more every `window_s / limit` seconds. GCRA rather than a sliding window
because its whole state is one number per key (one small Redis key that expires by itself), it has no burst at
window boundaries, and the time until the next allowed request falls out of it exactly, never more than one
`window_s / limit` away.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

FALLBACK = Counter(
    "kefu_ratelimit_fallback_total",
    "Rate-limit hits counted in-process because Redis was unreachable or failed",
)

# Floating-point slack: `limit` hits at the same instant must all pass, whatever rounding window_s / limit has.
_EPSILON_S = 1e-9


class RateLimiter(Protocol):
    """What the HTTP layer needs: count a hit, learn whether to answer 429 and with which Retry-After."""

    async def hit(self, key: str, limit: int, window_s: float = 60.0) -> float | None:
        """Count one request for `key`: None when allowed, else the seconds (> 0) until a retry can pass.
        `limit <= 0` means unlimited: nothing is counted."""
        ...

    async def aclose(self) -> None:
        """Release connections; the limiter is not used afterwards."""
        ...


class LocalRateLimiter:
    """GCRA in this process: for one instance, for tests, and as the fallback while Redis is away.

    Each key holds its theoretical arrival time in an LRU-ordered dict, so memory stays bounded by `max_keys`
    however many clients call (the least recently seen key is forgotten first, which at worst gives it a fresh
    burst). `hit` never awaits, so on one event loop it is atomic without a lock.
    """

    def __init__(self, max_keys: int = 100_000, *, clock: Callable[[], float] = time.monotonic) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, not {max_keys}")
        self._max_keys = max_keys
        self._clock = clock
        self._tat: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tat)

    async def hit(self, key: str, limit: int, window_s: float = 60.0) -> float | None:
        """Count one request for `key`; None when allowed, else seconds until a retry can pass."""
        return self.hit_now(key, limit, window_s)

    def hit_now(self, key: str, limit: int, window_s: float = 60.0) -> float | None:
        """The same as `hit`, callable from synchronous code (the limiter never waits for anything)."""
        if limit <= 0:
            return None
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, not {window_s}")
        now = self._clock()
        tats = self._tat
        tat = tats.get(key)
        if tat is None or tat < now:
            tat = now
        new_tat = tat + window_s / limit
        wait = new_tat - window_s - now
        if wait > _EPSILON_S:
            tats.move_to_end(key)  # refused means the key is present: a fresh key always has its whole burst
            return wait
        tats[key] = new_tat
        tats.move_to_end(key)
        if len(tats) > self._max_keys:
            tats.popitem(last=False)
        return None

    async def aclose(self) -> None:
        """Nothing to release; forget the counts."""
        self._tat.clear()


# GCRA in Redis, atomic because a script runs alone. Redis's own clock, so that instances whose clocks differ
# agree; integer microseconds, written with %d, because Lua's default number-to-string keeps only 14 digits.
# ARGV[1]: emission interval (window / limit) in µs, ARGV[2]: window in µs. Returns 0 (allowed) or µs to wait.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - window - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return 0
"""


class RedisRateLimiter:
    """GCRA in Redis, one script call (EVALSHA, EVAL once if the script cache was flushed) per hit, so that
    all instances share one count per key.

    Redis must never take the service down with it: on any Redis error or timeout (0.25 s) the hit is counted
    by an in-process limiter instead, `kefu_ratelimit_fallback_total` goes up, a warning is logged at most every
    30 s, and Redis is tried again after `retry_after_failure_s`, so the shared count resumes when it is back.
    """

    retry_after_failure_s = 2.0
    warn_every_s = 30.0

    def __init__(self, url: str, prefix: str = "kefu:rl:") -> None:
        self._prefix = prefix
        # No client-side retries (redis-py retries 3 times by default): they would multiply the wait for an answer
        # the fallback gives at once.
        self._redis = aioredis.Redis.from_url(
            url, socket_timeout=0.25, socket_connect_timeout=0.25, retry=Retry(NoBackoff(), 0)
        )
        self._script = self._redis.register_script(_GCRA_LUA)
        self._local = LocalRateLimiter()
        self._down_until = 0.0
        self._warned_at = float("-inf")

    async def hit(self, key: str, limit: int, window_s: float = 60.0) -> float | None:
        """Count one request for `key` in Redis (in-process while Redis is away); None when allowed, else
        seconds until a retry can pass."""
        if limit <= 0:
            return None
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, not {window_s}")
        now = time.monotonic()
        if now >= self._down_until:
            window_us = max(1, round(window_s * 1_000_000))
            interval_us = max(1, window_us // limit)
            try:
                wait_us = await self._script(keys=[self._prefix + key], args=[interval_us, window_us])
            except (RedisError, OSError) as exc:  # redis-py wraps most, but not every, socket failure
                self._failed(now, exc)
            else:
                return wait_us / 1_000_000 if wait_us > 0 else None
        FALLBACK.inc()
        return self._local.hit_now(key, limit, window_s)

    def _failed(self, now: float, exc: BaseException) -> None:
        self._down_until = now + self.retry_after_failure_s
        if now - self._warned_at >= self.warn_every_s:
            self._warned_at = now
            log.warning(
                "rate limiter: Redis unavailable (%s: %s); counting in-process, retrying in %.0f s",
                type(exc).__name__,
                exc,
                self.retry_after_failure_s,
            )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
        await self._local.aclose()


def rate_limiter(redis_url: str | None) -> RateLimiter:
    """The limiter for this deployment: shared through Redis when there is one, else this process's own."""
    return RedisRateLimiter(redis_url) if redis_url else LocalRateLimiter()
