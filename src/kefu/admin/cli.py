"""`kefu kb ...`: import files into the knowledge base and search it from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kefu.ops.settings import Settings
from kefu.store.repo import Store

kb_app = typer.Typer(help="Knowledge base / 知识库", no_args_is_help=True)
console = Console()


def _store(tenant: str, settings: Settings | None = None) -> Store:
    from kefu.services import setup_database

    settings = settings or Settings()
    store = Store(settings.database_url)
    setup_database(store, settings)
    store.ensure_tenant(tenant)
    return store


@kb_app.command("import")
def import_cmd(
    paths: list[Path] = typer.Argument(..., help="FAQ tables (CSV/JSON/XLSX) and documents (MD/HTML/PDF/DOCX/TXT)"),
    tenant: str = typer.Option("default", help="Tenant id"),
) -> None:
    """Import files; the ones that fail are listed with the reason, the rest still import."""
    from kefu.knowledge.importer import ImportedFile, import_sources

    files = [p for path in paths for p in (sorted(path.rglob("*")) if path.is_dir() else [path]) if not p.is_dir()]
    store = _store(tenant)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("导入 / importing", total=len(files))

        def on_file(name: str, outcome: object) -> None:
            mark = "[green]✓" if isinstance(outcome, ImportedFile) else "[red]✗"
            progress.console.print(f"{mark}[/] {Path(name).name}")
            progress.advance(task)

        result = import_sources(store, tenant, files, on_file=on_file)
    store.close()
    console.print(
        f"{len(result.files)} imported ({result.faqs} FAQ entries, {result.chunks} chunks) in {result.seconds:.2f} s; "
        f"{len(result.failed)} failed"
    )
    for f in result.failed:
        console.print(f"  [red]{f}[/]")
    raise typer.Exit(1 if result.failed and not result.files else 0)


@kb_app.command("search")
def search_cmd(
    query: str = typer.Argument(..., help="The question"),
    k: int = typer.Option(5, "--k", "-k", min=1, max=50, help="How many hits"),
    tenant: str = typer.Option("default", help="Tenant id"),
) -> None:
    """Show the ranked hits with their scores (with the embedder and fusion the settings name, as `serve` does)."""
    from kefu.services import knowledge_base

    settings = Settings()
    store = _store(tenant, settings)
    kb = knowledge_base(store, settings)
    hits = asyncio.run(kb.search(tenant, query, k))
    kb.close()
    store.close()
    table = Table("#", "score", "kind", "id", "title", "snippet")
    for i, h in enumerate(hits, 1):
        table.add_row(str(i), f"{h.score:.3f}", h.kind, h.id, h.title, h.snippet(80))
    console.print(table)
