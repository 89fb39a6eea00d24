"""`kefu outbox ...`: what the outbox holds (pending, failing, dead letters), and dead letters sent again."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import typer
from sqlalchemy import Engine

from kefu.ops.settings import Settings
from kefu.store.db import make_engine, migrate
from kefu.store.outbox import OutboxQueries

outbox_app = typer.Typer(help="Outbox: side effects waiting, failing, dead / 待发送事件", no_args_is_help=True)


class _OutboxStore(OutboxQueries):
    """The outbox queries alone: the commands need no conversation store (thread pool, caches)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine


@contextlib.contextmanager
def _store() -> Iterator[_OutboxStore]:
    engine = make_engine(Settings().database_url)
    try:
        migrate(engine)
        yield _OutboxStore(engine)
    finally:
        engine.dispose()


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@outbox_app.command("status")
def status_cmd(
    tenant: str | None = typer.Option(None, help="Only this tenant (default: every tenant)"),
    show: int = typer.Option(10, help="List this many of the newest dead letters"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of lines"),
) -> None:
    """Pending events (and of them those retrying after a failed try), dead letters, the oldest pending one's age,
    events sent in the last hour; then the newest dead letters with their last error."""
    with _store() as store:
        st = store.outbox_status(tenant)
        dead = store.outbox_events(tenant, "dead", show) if show > 0 and st["dead"] else []
    if as_json:
        letters = [
            {"id": e.id, "tenant": e.tenant_id, "kind": e.kind, "attempts": e.attempts, "error": e.last_error}
            for e in dead
        ]
        typer.echo(json.dumps({**st, "dead_letters": letters}, ensure_ascii=False))
        return
    typer.echo(f"pending         {st['pending']}")
    typer.echo(f"  retrying      {st['retrying']} (failed at least once)")
    typer.echo(f"dead letters    {st['dead']}")
    typer.echo(f"oldest pending  {_age(st['oldest_pending_age_s'])}")
    typer.echo(f"sent, last hour {st['sent_last_hour']}")
    for e in dead:
        error = (e.last_error or "").replace("\n", " ")[:100]
        typer.echo(f"  dead #{e.id} {e.tenant_id} {e.kind} after {e.attempts} tries: {error}")


@outbox_app.command("replay")
def replay_cmd(
    tenant: str | None = typer.Option(None, help="Only this tenant's dead letters (default: every tenant's)"),
    ids: list[int] | None = typer.Option(None, "--id", help="Only these events (repeat --id)"),
) -> None:
    """Dead letters back to pending, with a fresh count of tries: the relay delivers them again."""
    with _store() as store:
        n = store.replay_dead(tenant, ids or None)
    typer.echo(f"{n} dead letters pending again")
