"""One turn at a time per session: a turn reads the history, so the next turn of the same session waits
until this one's reply is written. `LocalSessionLocks` within one process; `RedisSessionLocks` across all
the instances that share a Redis (with the local lock in front, so that turns of one instance queue in
memory and only the first of them asks Redis)."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from redis.exceptions import RedisError

from kefu.conversation.cache import Outage, redis_client
from kefu.ops.settings import Settings

log = logging.getLogger(__name__)

Release = Callable[[], None]


class SessionLocks(Protocol):
    async def acquire(self, session: str | None) -> Release:
        """Wait until no other turn of `session` is running (None: a new session, nothing to wait for);
        the returned function lets the next turn in. Calling it twice is harmless."""
        ...

    async def aclose(self) -> None:
        """Release connections; the locks are not used afterwards."""
        ...


class LocalSessionLocks:
    """An asyncio lock per session that has a turn running or waiting (so memory follows the live
    sessions, not all of them). A turn waits at most `wait_s`: a reply stuck longer than every engine
    limit must not hold its session forever; the turn then goes on, out of order, with a warning."""

    def __init__(self, wait_s: float = 60.0) -> None:
        self.wait_s = wait_s
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # session -> (lock, turns holding or waiting)

    async def acquire(self, session: str | None) -> Release:
        if session is None:
            return _nothing
        lock, users = self._locks.get(session, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[session] = (lock, users + 1)
        try:
            async with asyncio.timeout(self.wait_s):
                await lock.acquire()
        except TimeoutError:
            log.warning("a turn waited too long for the session's previous turn; going on", extra={"wait": self.wait_s})
            self._leave(session)
            return _nothing
        except BaseException:
            self._leave(session)
            raise
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                lock.release()
                self._leave(session)

        return release

    def _leave(self, session: str) -> None:
        lock, users = self._locks[session]
        if users <= 1:
            del self._locks[session]
        else:
            self._locks[session] = (lock, users - 1)

    async def aclose(self) -> None:
        """Nothing to release."""

    def __len__(self) -> int:
        return len(self._locks)


# The Redis lock of one session is three keys (one hash tag: one cluster slot): the lock itself (the holder's
# token, with a TTL), the queue of waiting instances (a sorted set: token -> time of its first try, µs) and
# when each waiter last tried (a hash: token -> ms). The lock goes to the longest waiting instance that still
# asks (each polls every few ms; one silent for `stale_ms` has died and is dropped), so no instance starves.
# ARGV[1]: token, ARGV[2]: lock TTL in ms, ARGV[3]: stale_ms. Returns 1 (the lock is the caller's) or 0.
_ACQUIRE_LUA = """
local free = redis.call('EXISTS', KEYS[1]) == 0
if free and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stale = tonumber(ARGV[3])
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[2], string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2])), ARGV[1])
end
redis.call('HSET', KEYS[3], ARGV[1], string.format('%d', now_ms))
redis.call('PEXPIRE', KEYS[2], stale * 5)
redis.call('PEXPIRE', KEYS[3], stale * 5)
if not free then return 0 end
while true do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if head == ARGV[1] then
    redis.call('ZREM', KEYS[2], head)
    redis.call('HDEL', KEYS[3], head)
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
  end
  if now_ms - (tonumber(redis.call('HGET', KEYS[3], head)) or 0) <= stale then return 0 end
  redis.call('ZREM', KEYS[2], head)
  redis.call('HDEL', KEYS[3], head)
end
"""

# Let go: leave the queue (a waiter that gave up), and delete the lock only if it is still the caller's (it may
# have expired and gone to another instance since). ARGV[1]: token. Returns 1 when the lock was deleted.
_RELEASE_LUA = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# The holder's TTL, renewed while its turn runs. ARGV[1]: token, ARGV[2]: TTL in ms. Returns 0 if it is lost.
_REFRESH_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class RedisSessionLocks:
    """One turn of a session at a time across every instance that shares the Redis at `url`.

    A turn first takes this process's lock of the session (`LocalSessionLocks`), then the Redis lock: a
    token set with a TTL of `ttl_s`, renewed every `ttl_s / 3` while the turn runs (so a turn may take as long
    as it takes, and a crashed instance blocks its sessions for `ttl_s` at most), deleted by its holder only
    (compare-and-delete in Lua). Waiting instances poll (2 ms, doubling up to 25 ms) and get the lock in the
    order they first asked. `wait_s` bounds the whole wait, as for the local lock: then the turn goes on,
    out of order, with a warning.

    Redis must never take the service down with it: on a Redis error or timeout (0.25 s) the turn holds the
    local lock only, `kefu_shared_state_fallback_total{part="lock"}` goes up, a warning is logged at most every
    30 s and Redis is tried again after 2 s.
    """

    poll_first_s = 0.002
    poll_max_s = 0.025
    stale_ms = 2000

    def __init__(self, url: str, *, ttl_s: float = 15.0, wait_s: float = 60.0, prefix: str = "kefu:lock:") -> None:
        self.ttl_s = ttl_s
        self.wait_s = wait_s
        self.prefix = prefix
        self.outage = Outage("lock", log)
        self._local = LocalSessionLocks(wait_s)
        self._redis = redis_client(url)
        self._acquire = self._redis.register_script(_ACQUIRE_LUA)
        self._release = self._redis.register_script(_RELEASE_LUA)
        self._refresh = self._redis.register_script(_REFRESH_LUA)
        self._held: dict[str, str] = {}  # token -> lock key, of the turns of this instance holding one
        self._refresher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # releases in flight
        self._closed = False

    def keys(self, session: str) -> list[str]:
        lock = f"{self.prefix}{{{session}}}"
        return [lock, lock + ":q", lock + ":seen"]

    async def acquire(self, session: str | None) -> Release:
        if session is None:
            return _nothing
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        local = await self._local.acquire(session)
        if local is _nothing:  # waited wait_s for this instance's own turn already: going on, out of order
            return _nothing
        keys = self.keys(session)
        try:
            token = await self._lock(keys, deadline)
        except BaseException:
            local()
            raise
        if token is None:
            return local
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._held.pop(token, None)
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # no event loop (it has ended): the key expires by itself
                local()
                return
            self._spawn(self._unlock(keys, token, local))

        return release

    async def _lock(self, keys: list[str], deadline: float) -> str | None:
        """The Redis lock's token once it is this turn's; None when the turn goes on without it."""
        if not self.outage.up():
            self.outage.fell_back()
            return None
        loop = asyncio.get_running_loop()
        token = secrets.token_hex(8)
        ttl_ms, pause = max(1, round(self.ttl_s * 1000)), self.poll_first_s
        call: asyncio.Task[int] | None = None
        try:
            while True:
                # its own task, shielded (see `uncancelled`): a turn cancelled meanwhile lets go once it has ended
                call = loop.create_task(self._acquire(keys=keys, args=[token, ttl_ms, self.stale_ms]))
                if await asyncio.shield(call):
                    break
                left = deadline - loop.time()
                if left <= 0:
                    log.warning(
                        "a turn waited too long for the session's previous turn on another instance; going on",
                        extra={"wait": self.wait_s},
                    )
                    self._spawn(self._unlock(keys, token))
                    return None
                await asyncio.sleep(min(left, pause * random.uniform(0.8, 1.2)))
                pause = min(pause * 2, self.poll_max_s)
        except (RedisError, OSError) as exc:  # redis-py wraps most, but not every, socket failure
            self.outage.failed(exc, "locking a session")
            self.outage.fell_back()
            self._spawn(self._unlock(keys, token))  # in case the script ran and only its answer was lost
            return None
        except BaseException:  # cancelled while waiting, or while the lock was being taken: let go of it
            self._spawn(self._unlock(keys, token, after=call))
            raise
        self._held[token] = keys[0]
        if self._refresher is None or self._refresher.done():
            self._refresher = loop.create_task(self._keep_held())
        return token

    async def _unlock(
        self, keys: list[str], token: str, local: Release | None = None, after: asyncio.Task[int] | None = None
    ) -> None:
        """Let go of the Redis lock (if it is `token`'s) and the queue, after `after` (a try to take it) ended;
        then of the local lock."""
        try:
            if after is not None:
                await asyncio.wait({after})
                if not after.cancelled():
                    after.exception()  # read: its outcome is not wanted
            # a turn's next one waits for this: not while Redis is taken for down (the lock expires by itself)
            if self.outage.up() or local is None:
                await self._release(keys=keys, args=[token])
        except (RedisError, OSError) as exc:  # the lock expires after its TTL
            self.outage.failed(exc, "unlocking a session")
        finally:
            if local is not None:
                local()

    async def _keep_held(self) -> None:
        """Renew the TTL of every lock this instance holds, every third of it, while it holds any."""
        every = self.ttl_s / 3
        while self._held and not self._closed:
            await asyncio.sleep(every)
            ttl_ms = max(1, round(self.ttl_s * 1000))
            for token, key in list(self._held.items()):
                if token not in self._held:  # released while the previous one was renewed
                    continue
                try:
                    kept = await self._refresh(keys=[key], args=[token, ttl_ms])
                except (RedisError, OSError) as exc:
                    self.outage.failed(exc, "renewing a session lock")
                    break
                if not kept and token in self._held:
                    log.warning("a session's turn lock expired while its turn ran", extra={"lock": key})
                    self._held.pop(token, None)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Let the releases in flight end (up to 1 s), stop renewing, close the connection pool. Locks still
        held expire after their TTL."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=1.0)
        self._closed = True
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.wait({self._refresher}, timeout=1.0)
        await self._redis.aclose()

    def __len__(self) -> int:
        return len(self._local)


def turn_wait_s(settings: Settings) -> float:
    """How long a turn waits for its session's previous one: as long as that one may take, with a margin."""
    return settings.engine.first_token_timeout_s + settings.engine.timeout_s + 5


def session_locks(settings: Settings) -> SessionLocks:
    """The session locks of this deployment: shared through Redis when there is one, else this process's."""
    if settings.redis_url:
        return RedisSessionLocks(settings.redis_url, ttl_s=settings.session_lock_ttl_s, wait_s=turn_wait_s(settings))
    return LocalSessionLocks(wait_s=turn_wait_s(settings))


def _nothing() -> None:
    return None
