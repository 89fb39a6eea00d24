"""Knowledge-change notices between kefu instances over Redis pub/sub.

Without a feed every question reads the tenant's knowledge version from the database, so that an edit made
through any instance answers the very next question everywhere. With one, each write publishes the tenant's
id after it commits, every instance forgets the version it knew, and questions read no version until the
next notice. While the subscription is down (Redis restarting) the instances fall back to reading the
version per question, so an edit is never missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

from kefu.knowledge.service import KnowledgeBase

log = logging.getLogger(__name__)

CHANNEL = "kefu:kb-changed"
# a Redis that is down fails every notice: warned about once a minute
WARN_EVERY_S = 60.0


class RedisPublisher:
    """A store listener: hands a tenant's id to a background thread that publishes it, so that the database
    thread (which calls it, after the commit) never waits on Redis; while Redis is slow or down, each
    tenant's notices coalesce into one. `close()` sends what is pending (up to `close_timeout_s`)."""

    def __init__(self, url: str, *, timeout_s: float = 2.0, close_timeout_s: float = 3.0) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self.close_timeout_s = close_timeout_s
        self._pending: dict[str, None] = {}  # tenants to announce, oldest first, each once
        self._wake = threading.Condition()
        self._closed = False
        self._last_warned = -WARN_EVERY_S
        self._thread = threading.Thread(target=self._publish_loop, name="kefu-kb-publish", daemon=True)
        self._thread.start()

    def __call__(self, tenant_id: str) -> None:
        with self._wake:
            if self._closed:
                return
            self._pending[tenant_id] = None
            self._wake.notify()

    def _publish_loop(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    return  # closed and nothing left to send
                tenant = next(iter(self._pending))
                del self._pending[tenant]
            try:
                self._client.publish(CHANNEL, tenant)
            except Exception as e:  # the other instances read versions per question while their feed is down
                self._warn(tenant, e)

    def _warn(self, tenant: str, e: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warned >= WARN_EVERY_S:
            self._last_warned = now
            log.warning("knowledge change notice not published", extra={"tenant": tenant, "error": str(e)})

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(self.close_timeout_s)
        self._client.close()


class RedisFeed:
    """Subscribes to the change channel and keeps `kb` told; `kb.fed` is True only while subscribed."""

    def __init__(self, url: str, kb: KnowledgeBase, *, retry_s: float = 1.0, poll_s: float = 0.5) -> None:
        self.url = url
        self.kb = kb
        self.retry_s = retry_s
        self.poll_s = poll_s
        self.subscribed = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="kefu-kb-feed")

    async def stop(self) -> None:
        """Ends the subscription within about `poll_s`. Cancelling alone is not enough: redis-py's async pub/sub
        read can swallow the cancellation (redis 8.1 here), which hung every shutdown with Redis configured."""
        self.kb.fed = False
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            done, _ = await asyncio.wait({self._task}, timeout=self.poll_s + self.retry_s + 2.0)
            if not done:
                log.warning("knowledge change feed did not stop in time")

    async def _run(self) -> None:
        import redis.asyncio as aioredis

        while not self._stopping:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2)
            try:
                async with client.pubsub() as ps:
                    await ps.subscribe(CHANNEL)
                    # notices sent before the subscription are unknown: forget every version once
                    self.kb.forget_versions()
                    self.kb.fed = True
                    self.subscribed.set()
                    log.info("knowledge change feed subscribed", extra={"channel": CHANNEL})
                    while not self._stopping:
                        msg = await ps.get_message(ignore_subscribe_messages=True, timeout=self.poll_s)
                        if msg is not None and msg.get("type") == "message":
                            tenant = msg["data"].decode() if isinstance(msg["data"], bytes) else str(msg["data"])
                            self.kb.forget_versions(tenant)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("knowledge change feed lost; reading versions per question", extra={"error": str(e)})
            finally:
                self.kb.fed = False
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await client.aclose()
            if not self._stopping:
                await asyncio.sleep(self.retry_s)
