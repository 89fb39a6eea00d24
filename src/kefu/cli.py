"""The `kefu` command."""

from __future__ import annotations

import typer

from kefu import __version__
from kefu.admin.cli import kb_app
from kefu.guard.evaluation import guard_command
from kefu.knowledge.embedders import get_embedder
from kefu.knowledge.evaluation import app as eval_app

app = typer.Typer(help="kefu: self-hosted AI customer service / 智能客服", no_args_is_help=True)
eval_app.command("guard")(guard_command(get_embedder))
app.add_typer(eval_app, name="eval")
app.add_typer(kb_app, name="kb")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default from settings)"),
    port: int | None = typer.Option(None, help="Port (default from settings)"),
    workers: int | None = typer.Option(None, help="Worker processes (default from settings: 1)"),
) -> None:
    """Start kefu: migrations, demo knowledge base, engine, and the chat page."""
    import os

    import uvicorn

    from kefu.admin.token import ensure_admin_token
    from kefu.ops.settings import Settings
    from kefu.services import setup_database
    from kefu.store.repo import Store

    settings = Settings()
    h, p, n = host or settings.host, port or settings.port, workers or settings.workers
    store = Store(settings.database_url)
    setup_database(store, settings)  # once, before any worker starts
    store.close()
    os.environ["KEFU_SETUP_ON_START"] = "false"
    # The admin API is never open without a token: the workers read the one created here from the environment.
    token, created = ensure_admin_token(settings)
    os.environ["KEFU_ADMIN_TOKEN"] = token
    shown = "127.0.0.1" if h in ("0.0.0.0", "::") else h
    typer.echo(f"kefu {__version__}: engine={settings.engine.backend} model={settings.engine.model} workers={n}")
    typer.echo(f"聊天页面 / Chat page: http://{shown}:{p}/")
    if settings.admin_token is None:
        where = "新建并保存在 / created and kept in" if created else "保存在 / kept in"
        typer.echo(f"管理令牌 / Admin token: {token}  ({where} {settings.admin_token_file})")
    uvicorn.run(
        "kefu.app:app_factory",
        factory=True,
        host=h,
        port=p,
        workers=n,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from kefu.ops.settings import Settings
    from kefu.store.repo import Store

    store = Store(Settings().database_url)
    store.migrate()
    store.close()
    typer.echo("ok")


@app.command()
def version() -> None:
    typer.echo(__version__)


if __name__ == "__main__":
    app()
