"""`kefu audit ...`: verify the audit log's hash chains, export entries for a regulator."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import orjson
import typer
from sqlalchemy import Engine

from kefu.ops.settings import Settings
from kefu.store.audit import AuditQueries
from kefu.store.db import make_engine, migrate

audit_app = typer.Typer(help="Audit log / 审计日志", no_args_is_help=True)


class _AuditStore(AuditQueries):
    """The audit queries alone: the commands need no conversation store (thread pool, caches)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine


@contextlib.contextmanager
def _store() -> Iterator[_AuditStore]:
    engine = make_engine(Settings().database_url)
    try:
        migrate(engine)  # the append-only triggers, on a database no server has started on yet
        yield _AuditStore(engine)
    finally:
        engine.dispose()


def _when(value: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO-8601 time: {value!r}", param_hint=option) from None


@audit_app.command("verify")
def verify_cmd(tenant: str | None = typer.Option(None, help="Only this tenant (default: every tenant)")) -> None:
    """Check every entry's hash and link, and each chain's head; exit 1 if any chain is broken."""
    with _store() as store:
        results = store.verify_audit(tenant)
    for r in results:
        if r.ok:
            typer.echo(f"{r.tenant_id}: ok ({r.checked} entries)")
        else:
            at = f"seq {r.broken_seq}" + (f", id {r.broken_id}" if r.broken_id is not None else "")
            typer.echo(f"{r.tenant_id}: BROKEN at {at}: {r.reason} ({r.checked} entries intact before it)")
    if not results:
        typer.echo("no audit entries")
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


@audit_app.command("export")
def export_cmd(
    since: str = typer.Option(..., help="From this time (ISO-8601, inclusive; no offset: UTC)"),
    until: str = typer.Option(..., help="Up to this time (ISO-8601, exclusive; no offset: UTC)"),
    tenant: str | None = typer.Option(None, help="Only this tenant (default: every tenant)"),
    out: Path | None = typer.Option(None, help="Write to this file (default: standard output)"),
) -> None:
    """Entries as JSON lines, by tenant then seq, with their hashes: the chain can be re-checked from the file."""
    start, end = _when(since, "--since"), _when(until, "--until")
    n = 0
    # Bytes: orjson's UTF-8 as is, whatever the terminal's encoding.
    with _store() as store, open(out, "wb") if out else contextlib.nullcontext(sys.stdout.buffer) as sink:
        for entry in store.export_audit(start, end, tenant):
            sink.write(orjson.dumps(entry) + b"\n")
            n += 1
        sink.flush()
    if out:
        typer.echo(f"{n} entries written to {out}", err=True)
