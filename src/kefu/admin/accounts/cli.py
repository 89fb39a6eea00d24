"""`kefu users add | list` and `kefu keys add | list | revoke`: the first admin, and keys for integrations, from
the machine kefu runs on. A password is read from a prompt or stdin, never from an argument (shell history,
`ps`)."""

from __future__ import annotations

import asyncio
import sys

import typer
from rich.console import Console
from rich.table import Table

from kefu.ops.settings import Settings

users_app = typer.Typer(help="Users and roles / 用户与角色", no_args_is_help=True)
keys_app = typer.Typer(help="API keys / API 密钥", no_args_is_help=True)
console = Console(stderr=True)


def _accounts():  # type: ignore[no-untyped-def]
    from kefu.accounts.service import Accounts
    from kefu.ops.ratelimit import rate_limiter
    from kefu.store.repo import Store

    settings = Settings()
    store = Store(settings.database_url)
    store.migrate()
    store.ensure_tenant("default", "Default")
    return store, Accounts(store, settings.auth, rate_limiter(None))


def _password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("密码 / Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add_user(
    email: str = typer.Argument(..., help="登录邮箱 / The login e-mail"),
    tenant: str = typer.Option("default", help="Tenant id"),
    role: str = typer.Option("admin", help="admin | supervisor | agent | viewer"),
    name: str = typer.Option("", help="Display name"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin"),
) -> None:
    """Create a user (the first admin, typically); the password comes from a prompt or stdin."""
    from kefu.store.accounts import Duplicate

    store, accounts = _accounts()
    try:
        if not store.tenant_exists(tenant):
            store.ensure_tenant(tenant)
        user = accounts.create_user(tenant, email, role, _password(password_stdin), name, actor="cli")
    except Duplicate:
        console.print(f"[red]{email} already exists in tenant {tenant}[/red]")
        raise typer.Exit(1) from None
    except ValueError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    finally:
        store.close()
    print(f"created user {user.id} {user.email} ({user.role}) in tenant {tenant}")


@users_app.command("list")
def list_users(tenant: str = typer.Option("default", help="Tenant id")) -> None:
    store, _ = _accounts()
    try:
        table = Table("id", "email", "role", "active", "last login")
        for u in store.list_users(tenant):
            table.add_row(str(u.id), u.email, u.role, "yes" if u.active else "no", u.last_login_at or "")
        Console().print(table)
    finally:
        store.close()


@keys_app.command("add")
def add_key(
    name: str = typer.Argument(..., help="What the key is for, e.g. wecom-channel"),
    tenant: str = typer.Option("default", help="Tenant id"),
    scope: list[str] = typer.Option(["chat"], help="chat | kb:read | kb:write | admin (repeat for several)"),
    bot: str | None = typer.Option(None, help="Only for this bot profile"),
) -> None:
    """Create an API key; it is printed once (to stdout) and kept only as a hash."""
    store, accounts = _accounts()
    try:
        if bot is not None and bot not in store.bot_names(tenant):
            console.print(f"[red]no bot profile {bot!r} in tenant {tenant}[/red]")
            raise typer.Exit(2)
        secret, view = asyncio.run(accounts.create_key(tenant, name, scope, bot, "cli"))
    except ValueError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    finally:
        store.close()
    console.print(f"key {view.id} ({', '.join(view.scopes)}); shown only now / 仅显示这一次:")
    print(secret)


@keys_app.command("list")
def list_keys(tenant: str = typer.Option("default", help="Tenant id")) -> None:
    store, _ = _accounts()
    try:
        table = Table("id", "name", "prefix", "scopes", "bot", "last used", "revoked")
        for k in store.list_api_keys(tenant):
            table.add_row(
                str(k.id),
                k.name,
                k.prefix + "…",
                ",".join(k.scopes),
                k.bot_name or "",
                k.last_used_at or "",
                k.revoked_at or "",
            )
        Console().print(table)
    finally:
        store.close()


@keys_app.command("revoke")
def revoke_key(key_id: int = typer.Argument(...), tenant: str = typer.Option("default", help="Tenant id")) -> None:
    store, _ = _accounts()
    try:
        if not store.revoke_api_key(tenant, key_id, "cli"):
            console.print(f"[red]no live key {key_id} in tenant {tenant}[/red]")
            raise typer.Exit(1)
    finally:
        store.close()
    print(f"revoked key {key_id}")
