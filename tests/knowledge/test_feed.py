"""Knowledge-change notices over Redis: published off the database thread, delivered, and flushed on close."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from kefu.knowledge.feed import CHANNEL, RedisPublisher
from kefu.store.knowledge import FaqRecord
from kefu.store.repo import Store
from tests.conftest import missing

REDIS_URL = "redis://127.0.0.1:6379/0"
# other tests (and instances) may publish on the same channel: these tenants are this run's own
ONE, TWO = f"feed-{uuid.uuid4().hex[:8]}", f"feed-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'feed.db'}")
    s.migrate()
    s.ensure_tenant(ONE)
    s.ensure_tenant(TWO)
    yield s
    s.close()


def _write(store: Store, tenant: str = ONE, key: str = "k1") -> float:
    """Seconds the store's own thread spends on one FAQ write (the listeners run there, after the commit)."""
    started = time.perf_counter()
    store.submit(store.upsert_faq, tenant, [FaqRecord(key, "问题", "答案")]).result()
    store.submit(store.kb_version, tenant).result()  # the next piece of work on that thread is not held up either
    return time.perf_counter() - started


def test_unreachable_redis_does_not_block_the_store_thread(store: Store) -> None:
    """A Redis that accepts connections and never answers (a hung server): before, each write held the database
    thread for the 2 s socket timeout."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)  # connections complete in the backlog; nothing is ever read or answered
        publisher = RedisPublisher(f"redis://127.0.0.1:{hung.getsockname()[1]}/0")
        publisher.close_timeout_s = 0.5
        store.kb_listeners.append(publisher)
        try:
            assert _write(store) < 0.5
            assert _write(store, key="k2") < 0.5
        finally:
            started = time.perf_counter()
            publisher.close()
            assert time.perf_counter() - started < 1.5  # bounded even with a notice stuck


def test_notices_reach_a_subscriber_and_close_flushes_them(store: Store) -> None:
    try:
        sub = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).pubsub()
        sub.subscribe(CHANNEL)
    except Exception as e:
        missing(f"Redis at 127.0.0.1:6379 ({e})")
    try:
        assert sub.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
        publisher = RedisPublisher(REDIS_URL)
        store.kb_listeners.append(publisher)
        assert _write(store) < 0.5
        _write(store, TWO)
        publisher.close()  # what is pending is sent before it returns
        got = []
        while (msg := sub.get_message(timeout=1)) is not None:
            got.append(msg["data"].decode())
        assert ONE in got and TWO in got
        publisher(ONE)  # after close: dropped, no error
    finally:
        sub.close()


def test_the_app_shuts_down_and_closes_its_publisher(tmp_path: Path) -> None:
    """Before, an app with Redis configured never finished shutting down (redis-py's pub/sub read swallowed the
    feed's cancellation), and its publishing thread and connection were left behind."""
    import contextlib
    import threading

    from fastapi.testclient import TestClient

    from kefu.app import create_app
    from kefu.engines.testing import QueueEngine
    from tests.conftest import make_settings

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as e:
        missing(f"Redis at 127.0.0.1:6379 ({e})")
    before = {t for t in threading.enumerate() if t.name == "kefu-kb-publish"}
    app = create_app(make_settings(tmp_path, redis_url=REDIS_URL), engine=QueueEngine(), configure_logs=False)
    running = contextlib.ExitStack()
    running.enter_context(TestClient(app))
    ours = {t for t in threading.enumerate() if t.name == "kefu-kb-publish"} - before
    assert len(ours) == 1
    shutdown = threading.Thread(target=running.close, daemon=True)
    shutdown.start()
    shutdown.join(20)
    assert not shutdown.is_alive(), "the app did not finish shutting down in 20 s"
    assert not any(t.is_alive() for t in ours)
