"""/readyz: each dependency checked under its own short limit, the failed ones named in the body; the database
down is 503, the engine, Redis or the message broker down keep kefu ready. Redis and RabbitMQ are the real
servers at 127.0.0.1:6379 and 127.0.0.1:5672 (guest/guest)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from kefu.app import create_app
from kefu.engines.base import EngineError
from kefu.engines.testing import QueueEngine
from kefu.http import health
from kefu.ops.settings import Settings
from tests.conftest import ADMIN_HEADERS, free_port, make_settings, missing

REDIS_URL = "redis://127.0.0.1:6379/0"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


@contextlib.contextmanager
def _client(settings: Settings, engine: QueueEngine | None = None) -> Iterator[TestClient]:
    """The app, once its knowledge indexes are built (until then /readyz rightly answers 503 "warming")."""
    app = create_app(settings, engine=engine or QueueEngine(), configure_logs=False)
    with TestClient(app, raise_server_exceptions=False, headers=ADMIN_HEADERS) as c:
        deadline = time.monotonic() + 60
        while not app.state.services.kb.warmed:
            assert time.monotonic() < deadline, "the knowledge indexes were not built in time"
            time.sleep(0.02)
        yield c


@pytest.fixture(autouse=True)
def _embedded_once(demo_index: object) -> None:
    """The demo knowledge embedded once per session: each app's indexes build from the cache in a moment."""


def _set_amqp_url(settings: Settings, url: str) -> None:
    settings.amqp_url = SecretStr(url)


def _sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_ready_without_optional_dependencies(tmp_path: Path) -> None:
    with _client(make_settings(tmp_path)) as c:
        r = c.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok", "database": True, "engine": True, "knowledge": True, "redis": None, "amqp": None, "failed": []
    }  # fmt: skip


def test_engine_down_keeps_kefu_ready_and_marks_the_gauge(tmp_path: Path) -> None:
    engine = QueueEngine()
    engine.fail = EngineError("down", kind="connection")  # its health() answers False
    with _client(make_settings(tmp_path), engine) as c:
        r = c.get("/readyz")
        assert r.status_code == 200, r.text  # degraded answers, still ready
        assert r.json()["engine"] is False and r.json()["failed"] == ["engine"]
        assert _sample("kefu_engine_up", backend="other") == 0
        engine.fail = None
        assert c.get("/readyz").json()["engine"] is True
        assert _sample("kefu_engine_up", backend="other") == 1


def test_metrics_scrape_checks_the_engine_in_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without /readyz or turns, a scrape keeps kefu_engine_up fresh: it starts a check, the next scrape reads it."""
    monkeypatch.setattr(health, "ENGINE_PROBE_EVERY_S", 0.0)
    engine = QueueEngine()
    with _client(make_settings(tmp_path), engine) as c:
        engine.fail = EngineError("down", kind="connection")
        c.get("/metrics")
        deadline = time.monotonic() + 5
        while 'kefu_engine_up{backend="other"} 0.0' not in c.get("/metrics").text:
            assert time.monotonic() < deadline, "the scrape never checked the engine"
            time.sleep(0.05)
        engine.fail = None
        while 'kefu_engine_up{backend="other"} 1.0' not in c.get("/metrics").text:
            assert time.monotonic() < deadline, "the scrape never saw the engine back"
            time.sleep(0.05)


def test_a_slow_engine_check_is_cut_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "ENGINE_TIMEOUT_S", 0.2)
    engine = QueueEngine()

    async def hangs() -> bool:
        await asyncio.sleep(30)
        return True

    monkeypatch.setattr(engine, "health", hangs)
    with _client(make_settings(tmp_path), engine) as c:
        t0 = time.perf_counter()
        r = c.get("/readyz")
        took = time.perf_counter() - t0
    assert r.status_code == 200 and r.json()["engine"] is False and r.json()["failed"] == ["engine"]
    assert took < 2.0, took


def test_database_down_is_503(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _client(make_settings(tmp_path)) as c:
        store = c.app.state.services.store  # type: ignore[attr-defined]

        def refuse() -> None:
            raise OSError("connection refused")

        before = _sample("kefu_database_errors_total", where="readyz") or 0.0
        monkeypatch.setattr(store.engine, "connect", refuse)
        r = c.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable" and body["database"] is False and body["failed"] == ["database"]
    assert _sample("kefu_database_errors_total", where="readyz") == before + 1


def test_a_hung_database_answers_in_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "DATABASE_TIMEOUT_S", 0.3)
    with _client(make_settings(tmp_path)) as c:
        store = c.app.state.services.store  # type: ignore[attr-defined]
        real = store.engine.connect

        def slow() -> object:
            time.sleep(1.0)  # on the database thread, as a lock wait or a lost connection would
            return real()

        monkeypatch.setattr(store.engine, "connect", slow)
        t0 = time.perf_counter()
        r = c.get("/readyz")
        took = time.perf_counter() - t0
        monkeypatch.setattr(store.engine, "connect", real)
    assert r.status_code == 503 and r.json()["database"] is False and took < 0.9, took


def test_redis_checked_when_configured(tmp_path: Path) -> None:
    if not _listening("127.0.0.1", 6379):
        missing("redis not reachable at 127.0.0.1:6379")
    with _client(make_settings(tmp_path, redis_url=REDIS_URL)) as c:
        r = c.get("/readyz")
    assert r.status_code == 200 and r.json()["redis"] is True and r.json()["failed"] == []


def test_redis_down_keeps_kefu_ready(tmp_path: Path) -> None:
    before = _sample("kefu_redis_errors_total", where="readyz") or 0.0
    with _client(make_settings(tmp_path, redis_url="redis://127.0.0.1:1/0")) as c:  # nothing listens on port 1
        t0 = time.perf_counter()
        r = c.get("/readyz")
        took = time.perf_counter() - t0
    assert r.status_code == 200 and r.json()["redis"] is False and r.json()["failed"] == ["redis"]
    assert took < 2.0, took
    assert _sample("kefu_redis_errors_total", where="readyz") == before + 1


async def test_a_hung_redis_fails_its_check_in_half_a_second() -> None:
    """A server that accepts and never answers: the PING gives up after REDIS_TIMEOUT_S."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)
    try:
        t0 = time.perf_counter()
        url = f"redis://127.0.0.1:{hung.getsockname()[1]}/0"
        ok = await health._check(lambda: health._redis_ok(url), health.REDIS_TIMEOUT_S, "redis")
        took = time.perf_counter() - t0
    finally:
        hung.close()
    assert ok is False and took < health.REDIS_TIMEOUT_S + 0.3, took


def test_amqp_checked_when_configured(tmp_path: Path) -> None:
    if not _listening("127.0.0.1", 5672):
        missing("RabbitMQ not reachable at 127.0.0.1:5672")
    settings = make_settings(tmp_path)
    _set_amqp_url(settings, AMQP_URL)
    with _client(settings) as c:
        r = c.get("/readyz")
    assert r.status_code == 200 and r.json()["amqp"] is True and r.json()["failed"] == []


def test_amqp_down_keeps_kefu_ready(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    _set_amqp_url(settings, f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    with _client(settings) as c:
        t0 = time.perf_counter()
        r = c.get("/readyz")
        took = time.perf_counter() - t0
    assert r.status_code == 200 and r.json()["amqp"] is False and r.json()["failed"] == ["amqp"]
    assert took < 2.5, took


def test_amqp_without_aio_pika_is_null(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aio_pika", None)  # `import aio_pika` raises ImportError
    settings = make_settings(tmp_path)
    _set_amqp_url(settings, AMQP_URL)
    with _client(settings) as c:
        r = c.get("/readyz")
    assert r.status_code == 200 and r.json()["amqp"] is None and r.json()["failed"] == []


def test_healthz_stays_cheap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Liveness checks nothing: with the database and the engine broken it still answers at once."""
    engine = QueueEngine()
    with _client(make_settings(tmp_path), engine) as c:
        store = c.app.state.services.store  # type: ignore[attr-defined]
        monkeypatch.setattr(store.engine, "connect", lambda: (_ for _ in ()).throw(OSError("down")))
        engine.fail = EngineError("down")
        r = c.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
