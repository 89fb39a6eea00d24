"""The `kefu` command."""

from __future__ import annotations

import typer

from kefu import __version__
from kefu.admin.accounts.cli import keys_app, users_app
from kefu.admin.audit.cli import audit_app
from kefu.admin.cli import kb_app
from kefu.admin.outbox_cli import outbox_app
from kefu.guard.evaluation import guard_command
from kefu.knowledge.embedders import get_embedder
from kefu.knowledge.evaluation import app as eval_app

app = typer.Typer(help="kefu: self-hosted AI customer service / 智能客服", no_args_is_help=True)
eval_app.command("guard")(guard_command(get_embedder))
app.add_typer(eval_app, name="eval")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(outbox_app, name="outbox")


@eval_app.command("answers")
def eval_answers(
    questions: list[str] = typer.Argument(
        ..., help="JSONL files: {text, expect: faq:<id> | doc:<section> | decline | handoff}"
    ),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line of the figures"),
    tenant: str = typer.Option("default", help="The tenant whose knowledge answers"),
    database_url: str | None = typer.Option(None, help="Another database than the settings' (its knowledge)"),
    fit: str | None = typer.Option(None, help="Fit the confidence model on these questions and write it here"),
    show: int = typer.Option(0, help="Print this many wrong replies"),
    plot: str | None = typer.Option(None, help="Write a reliability plot (PNG) of the answers' confidence here"),
) -> None:
    """Every question through the whole turn pipeline (configured engine, knowledge, guard), each its own
    conversation; the replies sorted into right, clarified, wrong and degenerate."""
    import asyncio
    import json
    from pathlib import Path

    from kefu.conversation.evaluation import (
        evaluate_answers,
        fit_confidence,
        fit_policy_maps,
        read_questions,
        reliability_plot,
    )
    from kefu.ops.settings import Settings
    from kefu.services import build_services

    try:
        qs = [q for path in questions for q in read_questions(path)]
    except (OSError, ValueError) as e:
        raise typer.BadParameter(str(e)) from None
    settings = Settings() if database_url is None else Settings(database_url=database_url)
    services = build_services(settings)

    async def run() -> dict:
        try:
            if fit is not None:
                model = await fit_confidence(services.kb, tenant, qs, settings.kb_top_k)
                services.pipeline.confidence = model
                model = await fit_policy_maps(services.pipeline, tenant, qs)
                model.fitted_on = " + ".join(Path(q).name for q in questions)
                model.save(Path(fit), questions=len(qs))
                return {"fitted": fit, "faq": model.faq_w, "doc": model.doc_w}
            return await evaluate_answers(services.pipeline, tenant, qs)
        finally:
            services.kb.close()
            await services.engine.aclose()
            services.store.close()

    result = asyncio.run(run())
    rows, pairs = result.pop("rows", []), result.pop("calibration", [])
    if plot is not None and pairs:
        name = " + ".join(Path(q).name for q in questions)
        reliability_plot(pairs, plot, f"{name}: {len(pairs)} answers, ECE {result['ece']:.3f}")
    for r in [r for r in rows if r["verdict"] not in ("right", "clarified")][:show]:
        typer.echo(f"{r['verdict']:10} {r['expect']:32} {r['answered_by']:10} {r['confidence']:.2f} {r['text']}")
        typer.echo(f"{'':10} -> {r['source']}: {r['reply'][:90]!r}")
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        for k, v in result.items():
            typer.echo(f"{k:24} {v}")


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
        typer.echo(f"管理令牌（已弃用）/ Admin token (deprecated): {token}  ({where} {settings.admin_token_file})")
        typer.echo("创建管理员 / Create an admin: kefu users add --role admin EMAIL, then log in at /login")
    uvicorn.run(
        "kefu.app:app_factory",
        factory=True,
        host=h,
        port=p,
        workers=n,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        # uvicorn would believe X-Forwarded-For from any loopback peer (a proxy on this host, or anyone able to
        # reach it through one); kefu reads it itself, from KEFU_AUTH__TRUSTED_PROXIES only (http/auth.py)
        proxy_headers=False,
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
