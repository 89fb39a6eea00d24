"""Who may use the admin API: a bearer token, or nothing (the development flag opens loopback only)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from kefu.admin.token import ensure_admin_token
from kefu.app import create_app
from kefu.engines.testing import QueueEngine
from tests.conftest import make_settings


def _client(tmp_path: Path, host: str, **overrides: object) -> TestClient:
    app = create_app(make_settings(tmp_path, **overrides), engine=QueueEngine(), configure_logs=False)
    return TestClient(app, raise_server_exceptions=False, client=(host, 50000))


def test_no_token_means_closed_even_from_this_machine(tmp_path: Path) -> None:
    """Without a token a loopback client (a reverse proxy on the same host looks the same) is refused."""
    for host in ("127.0.0.1", "::1", "testclient", "10.0.0.7"):
        with _client(tmp_path, host, admin_token=None) as c:
            r = c.get("/admin/kb/faqs")
            assert r.status_code == 401, host  # no credential: log in or send a key
            assert r.json()["error"]["code"] == "unauthorized"
            assert r.headers["WWW-Authenticate"] == "Bearer"


def test_development_flag_opens_loopback_only(tmp_path: Path) -> None:
    with _client(tmp_path, "127.0.0.1", admin_token=None, admin_open_local=True) as c:
        assert c.get("/admin/kb/faqs").status_code == 200
    for host in ("testclient", "10.0.0.7", "192.168.1.2"):
        with _client(tmp_path, host, admin_token=None, admin_open_local=True) as c:
            assert c.get("/admin/kb/faqs").status_code == 401, host


def test_token_required_from_anywhere(tmp_path: Path) -> None:
    with _client(tmp_path, "127.0.0.1", admin_token="s3cret-token", admin_open_local=True) as c:
        assert c.get("/admin/kb/faqs").status_code == 401
        assert c.get("/admin/kb/faqs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/admin/kb/faqs", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_serve_creates_a_token_once_and_keeps_it(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, admin_token=None, admin_token_file=str(tmp_path / "data" / "admin.token"))
    token, created = ensure_admin_token(settings)
    assert created and token.startswith("kfa_") and len(token) > 30
    path = tmp_path / "data" / "admin.token"
    assert path.stat().st_mode & 0o077 == 0  # only the owner reads it
    again, created_again = ensure_admin_token(settings)
    assert again == token and not created_again
    configured = make_settings(tmp_path, admin_token="from-env")
    assert ensure_admin_token(configured) == ("from-env", False)
