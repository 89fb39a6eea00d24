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

from kefu.knowledge.service import KnowledgeBase

log = logging.getLogger(__name__)

CHANNEL = "kefu:kb-changed"


class RedisPublisher:
    """A store listener: publishes a tenant's id when its knowledge has changed (called from a database
    thread, after the commit)."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def __call__(self, tenant_id: str) -> None:
        self._client.publish(CHANNEL, tenant_id)

    def close(self) -> None:
        self._client.close()


class RedisFeed:
    """Subscribes to the change channel and keeps `kb` told; `kb.fed` is True only while subscribed."""

    def __init__(self, url: str, kb: KnowledgeBase, *, retry_s: float = 1.0) -> None:
        self.url = url
        self.kb = kb
        self.retry_s = retry_s
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="kefu-kb-feed")

    async def stop(self) -> None:
        self.kb.fed = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        import redis.asyncio as aioredis

        while True:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2)
            try:
                async with client.pubsub() as ps:
                    await ps.subscribe(CHANNEL)
                    # notices sent before the subscription are unknown: forget every version once
                    self.kb.forget_versions()
                    self.kb.fed = True
                    self.subscribed.set()
                    log.info("knowledge change feed subscribed", extra={"channel": CHANNEL})
                    async for msg in ps.listen():
                        if msg.get("type") == "message":
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
            await asyncio.sleep(self.retry_s)
