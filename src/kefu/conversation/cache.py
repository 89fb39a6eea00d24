"""The answer cache: a question asked again, in other spacing or case, under the same bot and the same
knowledge, gets the answer it got last time without retrieval or the engine.

The key is (tenant, bot, knowledge version, `question_key` of the question); a change to the knowledge bumps the
version, so a stale answer can never be served, and the old entries age out of the LRU. Only answers that
do not depend on the conversation so far are stored (FAQ answers, and engine answers to a session's first
question), and only answers that were not degraded.

With Redis (`SharedAnswerCache`) the in-process LRU stays in front as a near cache and Redis behind it is
shared by every instance: an answer given on one is a hit on all the others. Redis keys are
`kefu:ac:<database>:{tenant}:<bot>:<version>:<sha1 of the question key>` (see `shared_prefix`), values the answer
as orjson, with a TTL (a day) so that old versions age out there too. Lookups await Redis (one round trip, only
on a local miss); writes go out in the background and never delay a reply. While Redis is down the LRU alone
answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

from kefu.conversation.types import Source
from kefu.ops import metrics
from kefu.ops.settings import Settings
from kefu.text import question_key

log = logging.getLogger(__name__)

# What instances share through Redis (this cache, and the session locks of conversation/sessions.py), done
# in-process instead because Redis was unreachable: a lookup or write of the cache, a turn's lock.
FALLBACK = Counter(
    "kefu_shared_state_fallback_total",
    "Answer-cache operations and session locks done in-process because Redis was unreachable or failed",
    ["part"],
)

_Key = tuple[str, int, int, str]
T = TypeVar("T")


def redis_client(url: str, max_connections: int = 64) -> aioredis.Redis:
    """A client that fails fast (0.25 s) and never retries: the in-process fallback answers at once instead
    (redis-py would retry 3 times by default). Its pool blocks (up to the same 0.25 s) when all its connections
    are busy, rather than failing at once as redis-py's default pool does past 100: a burst of turns queues for a
    connection, it does not take Redis for down."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=0.25,
        socket_timeout=0.25,
        socket_connect_timeout=0.25,
        retry=Retry(NoBackoff(), 0),
    )
    return aioredis.Redis.from_pool(pool)


async def uncancelled(coro: Coroutine[Any, Any, T]) -> T:
    """Await a Redis command in a task of its own, shielded: a caller cancelled meanwhile (a customer who left)
    stops waiting at once, while the command runs to its end. redis-py 8 must not be cancelled mid-command: it
    swallows about one cancellation in three there (the caller's task then runs on) and loses the connection's
    state."""
    task = asyncio.ensure_future(coro)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_retrieved)
        raise


def _retrieved(task: asyncio.Future[Any]) -> None:
    """The outcome of a command nobody waits for any more: read, so that asyncio does not report it."""
    if not task.cancelled():
        task.exception()


class Outage:
    """Redis-down bookkeeping for one part: after a failure Redis is left alone for `retry_after_failure_s`
    (then tried again, so the part recovers by itself), a warning is logged at most every `warn_every_s`,
    and every operation done without Redis counts in `kefu_shared_state_fallback_total{part}`."""

    retry_after_failure_s = 2.0
    warn_every_s = 30.0

    def __init__(self, part: str, logger: logging.Logger) -> None:
        self.part = part
        self._log = logger
        self._counter = FALLBACK.labels(part)
        self._down_until = 0.0
        self._warned_at = float("-inf")

    def up(self) -> bool:
        """Whether to try Redis now."""
        return time.monotonic() >= self._down_until

    def failed(self, exc: BaseException, doing: str) -> None:
        now = time.monotonic()
        self._down_until = now + self.retry_after_failure_s
        if now - self._warned_at >= self.warn_every_s:
            self._warned_at = now
            self._log.warning(
                "%s: Redis unavailable while %s (%s: %s); in-process only, retrying in %.0f s",
                self.part,
                doing,
                type(exc).__name__,
                exc,
                self.retry_after_failure_s,
            )

    def fell_back(self) -> None:
        self._counter.inc()


@dataclass(frozen=True)
class CachedAnswer:
    text: str
    sources: tuple[Source, ...]
    confidence: float
    answered_by: str


class AnswerCache:
    """A thread-safe LRU of answers; `maxsize=0` turns it off. `aget`/`aput` are what async code calls (the
    shared cache's lookups go to Redis there); `get`/`put` never wait for anything."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[_Key, CachedAnswer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant: str, bot_id: int, version: int, question: str) -> CachedAnswer | None:
        if self.maxsize <= 0:
            return None
        hit = self._get_local((tenant, bot_id, version, question_key(question)))
        metrics.ANSWER_CACHE.labels("hit" if hit is not None else "miss").inc()
        return hit

    async def aget(self, tenant: str, bot_id: int, version: int, question: str) -> CachedAnswer | None:
        return self.get(tenant, bot_id, version, question)

    def put(self, tenant: str, bot_id: int, version: int, question: str, answer: CachedAnswer) -> None:
        if self.maxsize <= 0 or not answer.text.strip():
            return
        self._put_local((tenant, bot_id, version, question_key(question)), answer)
        metrics.ANSWER_CACHE.labels("store").inc()

    async def aput(self, tenant: str, bot_id: int, version: int, question: str, answer: CachedAnswer) -> None:
        self.put(tenant, bot_id, version, question, answer)

    def _get_local(self, key: _Key) -> CachedAnswer | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
        return hit

    def _put_local(self, key: _Key, answer: CachedAnswer) -> None:
        with self._lock:
            self._data[key] = answer
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Forget the answers kept in this process."""
        with self._lock:
            self._data.clear()

    async def aclose(self) -> None:
        """Nothing to release."""

    def __len__(self) -> int:
        return len(self._data)


class SharedAnswerCache(AnswerCache):
    """The LRU in front of Redis, which every instance shares (see the module's docstring).

    Lookups count in `kefu_answer_cache_total{result}` once each: "hit" (this process's LRU), "hit_redis"
    (another instance's answer, now kept in the LRU too) or "miss". On any Redis error or timeout (0.25 s)
    the LRU alone answers, `kefu_shared_state_fallback_total{part="cache"}` goes up, a warning is logged at
    most every 30 s and Redis is tried again after 2 s."""

    # Answers waiting for the background writer beyond this are not written to Redis (a Redis that is slow, not
    # down: this process's LRU has them).
    max_pending_writes = 1000

    def __init__(self, url: str, maxsize: int = 10_000, *, ttl_s: float = 86_400.0, prefix: str = "kefu:ac:") -> None:
        super().__init__(maxsize)
        self.ttl_ms = max(1, round(ttl_s * 1000))
        self.prefix = prefix
        self.outage = Outage("cache", log)
        self._redis = redis_client(url)
        self._pending: dict[str, CachedAnswer] = {}  # Redis key -> answer, for the writer
        self._writer: asyncio.Task[None] | None = None

    def redis_key(self, tenant: str, bot_id: int, version: int, qkey: str) -> str:
        # the question's key hashed: a fixed length whatever the question, and no ':' in the last part, so a
        # tenant id with ':' in it cannot make two keys alike
        digest = hashlib.sha1(qkey.encode(), usedforsecurity=False).hexdigest()
        return f"{self.prefix}{{{tenant}}}:{bot_id}:{version}:{digest}"

    async def aget(self, tenant: str, bot_id: int, version: int, question: str) -> CachedAnswer | None:
        if self.maxsize <= 0:
            return None
        key = (tenant, bot_id, version, question_key(question))
        hit = self._get_local(key)
        if hit is not None:
            metrics.ANSWER_CACHE.labels("hit").inc()
            return hit
        if self.outage.up():
            try:
                raw = await uncancelled(self._redis.get(self.redis_key(*key)))
            except (RedisError, OSError) as exc:  # redis-py wraps most, but not every, socket failure
                self.outage.failed(exc, "looking up an answer")
            else:
                hit = _decode(raw) if raw is not None else None
                if hit is not None:
                    self._put_local(key, hit)
                metrics.ANSWER_CACHE.labels("hit_redis" if hit is not None else "miss").inc()
                return hit
        self.outage.fell_back()
        metrics.ANSWER_CACHE.labels("miss").inc()
        return None

    def put(self, tenant: str, bot_id: int, version: int, question: str, answer: CachedAnswer) -> None:
        """Keep the answer here at once, and hand it to the background writer for Redis (from a running event
        loop; called outside one, it stays in this process)."""
        if self.maxsize <= 0 or not answer.text.strip():
            return
        key = (tenant, bot_id, version, question_key(question))
        self._put_local(key, answer)
        metrics.ANSWER_CACHE.labels("store").inc()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if not self.outage.up() or len(self._pending) >= self.max_pending_writes:
            self.outage.fell_back()
            return
        self._pending[self.redis_key(*key)] = answer
        writer = self._writer
        if writer is None or writer.done() or writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write_pending())

    async def aput(self, tenant: str, bot_id: int, version: int, question: str, answer: CachedAnswer) -> None:
        """`put`, then wait for the writer to have sent it (it never raises)."""
        self.put(tenant, bot_id, version, question, answer)
        await self.flush()

    async def _write_pending(self) -> None:
        """One writer per cache: all the answers waiting go out in one pipelined round trip, then the next ones."""
        while self._pending:
            batch, self._pending = self._pending, {}
            if not self.outage.up():
                for _ in batch:
                    self.outage.fell_back()
                continue
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, answer in batch.items():
                        pipe.set(key, orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY), px=self.ttl_ms)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                self.outage.failed(exc, "storing an answer")
                for _ in batch:
                    self.outage.fell_back()
            except TypeError as exc:  # not serialisable: a bug to see, never a reason to fail the turn
                log.warning("answers not stored in Redis: %s", exc)

    async def flush(self, timeout_s: float = 1.0) -> None:
        """Wait (up to `timeout_s`) for the writer to send what is waiting."""
        writer = self._writer
        if writer is not None and not writer.done():
            await asyncio.wait({writer}, timeout=timeout_s)

    async def aclose(self) -> None:
        """Send what is waiting (up to 1 s), then close the connection pool."""
        await self.flush()
        if self._writer is not None:
            self._writer.cancel()
        await self._redis.aclose()


def _decode(raw: bytes) -> CachedAnswer | None:
    """The answer another instance stored; None (a miss) for a value this version cannot read."""
    try:
        d = orjson.loads(raw)
        sources = tuple(Source(**s) for s in d["sources"])
        return CachedAnswer(str(d["text"]), sources, float(d["confidence"]), str(d["answered_by"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        log.warning("unreadable answer in the shared cache ignored: %s", exc)
        return None


def answer_cache(settings: Settings) -> AnswerCache:
    """The answer cache of this deployment: shared through Redis when there is one, else this process's."""
    if settings.redis_url and settings.answer_cache_size > 0:
        return SharedAnswerCache(
            settings.redis_url,
            settings.answer_cache_size,
            ttl_s=settings.answer_cache_ttl_s,
            prefix=shared_prefix(settings.database_url),
        )
    return AnswerCache(settings.answer_cache_size)


def shared_prefix(database_url: str) -> str:
    """`kefu:ac:<database>:`: knowledge versions count per database, so two databases behind one Redis (two
    deployments, or tests) must not share answers. The database is its URL without the credentials, hashed: the
    instances of one deployment name it alike. A database reset or restored under the same URL numbers its
    versions again: delete `kefu:ac:<database>:*` then (else those answers age out after the TTL)."""
    url = make_url(database_url)._replace(username=None, password=None).render_as_string(hide_password=False)
    return f"kefu:ac:{hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()[:12]}:"
