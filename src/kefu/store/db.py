"""Database engine, sessions and migrations. SQLite under ./data by default; PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # A server that does not answer must not hold a thread for ever: connecting gives up after 5 s, and TCP
    # keepalives find a dead peer; a partition that still accepts bytes is bounded by Store's deadline.
    connect_args = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                    "keepalives_count": 3}  # fmt: skip
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args=connect_args)


class DatabaseDeadline(sa_exc.TimeoutError):
    """A database call that took longer than its deadline (a partition: the server takes bytes and never
    answers). Counted as the database being unavailable: the customer gets a 503, not a wait without end."""


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to call at every start."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


# The advisory lock that instances starting at once take turns on: "kefu" in ASCII.
SETUP_LOCK_KEY = 0x6B656675


@contextmanager
def setup_lock(engine: Engine) -> Iterator[None]:
    """One instance at a time sets a PostgreSQL database up (migrations, the default tenant, the demo knowledge
    base): without it, instances started together against a new database both create alembic_version and one
    crashes. A session-level advisory lock on a connection of its own (autocommit: never idle in a transaction),
    released at the end, or by PostgreSQL when a crashed holder's connection goes. SQLite: nothing to take."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK_KEY})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK_KEY})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
