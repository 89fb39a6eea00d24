"""`kefu users add | list` and `kefu keys add | list | revoke` through the real CLI: the password from stdin (never
an argument), a key printed once and working against the store, and refusals with their exit codes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.accounts.service import Accounts, AuthError
from kefu.cli import app
from kefu.ops.ratelimit import LocalRateLimiter
from kefu.ops.settings import AuthSettings
from kefu.store.repo import Store

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KEFU_DATABASE_URL", f"sqlite:///{tmp_path / 'kefu.db'}")
    monkeypatch.setenv("KEFU_AUTH__JWT_KEY_FILE", str(tmp_path / "jwt.keys"))
    return tmp_path


def _accounts(env: Path) -> tuple[Store, Accounts]:
    store = Store(f"sqlite:///{env / 'kefu.db'}")
    return store, Accounts(store, AuthSettings(jwt_key_file=str(env / "jwt.keys")), LocalRateLimiter())


def test_first_admin_from_stdin_can_log_in(env: Path) -> None:
    r = runner.invoke(app, ["users", "add", "--tenant", "shop2", "Ops@Example.com", "--password-stdin"],
                      input="a sturdy passphrase\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "ops@example.com (admin)" in r.output and "sturdy" not in r.output
    store, accounts = _accounts(env)
    try:
        pair = asyncio.run(accounts.login("shop2", "ops@example.com", "a sturdy passphrase", "127.0.0.1"))
        assert pair.user.role == "admin"
        with pytest.raises(AuthError):
            asyncio.run(accounts.login("shop2", "ops@example.com", "wrong passphrase", "127.0.0.1"))
    finally:
        store.close()
    again = runner.invoke(app, ["users", "add", "--tenant", "shop2", "ops@example.com"], input="a sturdy passphrase\n")
    assert again.exit_code == 1 and "already exists" in again.output
    weak = runner.invoke(app, ["users", "add", "new@example.com"], input="short\n")
    assert weak.exit_code == 2
    bad_role = runner.invoke(app, ["users", "add", "--role", "god", "x@example.com"], input="a sturdy passphrase\n")
    assert bad_role.exit_code == 2
    listed = runner.invoke(app, ["users", "list", "--tenant", "shop2"])
    assert "ops@example.com" in listed.output


def test_key_printed_once_works_and_revokes(env: Path) -> None:
    r = runner.invoke(app, ["keys", "add", "widget", "--scope", "chat", "--scope", "kb:read"])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("kf_")
    store, accounts = _accounts(env)
    try:
        who = asyncio.run(accounts.from_api_key(key))
        assert who.tenant == "default" and {p.value for p in who.permissions} == {"chat", "kb:read"}
        listed = runner.invoke(app, ["keys", "list"])
        assert key[:11] in listed.output and key not in listed.output
        assert runner.invoke(app, ["keys", "revoke", str(who.subject)]).exit_code == 0
        accounts.forget()
        with pytest.raises(AuthError):
            asyncio.run(accounts.from_api_key(key))
        assert runner.invoke(app, ["keys", "revoke", str(who.subject)]).exit_code == 1
    finally:
        store.close()
    assert runner.invoke(app, ["keys", "add", "x", "--scope", "root"]).exit_code == 2
    assert runner.invoke(app, ["keys", "add", "x", "--bot", "nope"]).exit_code == 2
