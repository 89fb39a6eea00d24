"""The login page in real Chromium: a wrong password shows the server's message, the lockout shows the wait,
the right one stores the tokens for this tab and goes to `next` (never off the site)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.accounts.kefu_server import AUTH, PASSWORD, Kefu
from tests.e2e.test_chat_page import chromium_browser  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture
def kefu(tmp_path: Path, demo_index: object) -> Iterator[Kefu]:
    with Kefu(tmp_path, AUTH.model_copy(update={"lockout_after": 2})) as k:
        yield k


def _submit(page, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#submit")


def test_login_page(chromium_browser, kefu: Kefu) -> None:  # noqa: F811
    context = chromium_browser.new_context(locale="zh-CN")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(kefu.server.url + "/login?next=//evil.example/steal")
        _submit(page, "viewer@shop.cn", "not the password")
        page.wait_for_function("document.getElementById('error').textContent.length > 0")
        assert "密码错误" in page.text_content("#error") and "Wrong e-mail or password" in page.text_content("#error")
        assert page.evaluate("sessionStorage.getItem('kefu.access_token')") is None
        _submit(page, "agent@shop.cn", "wrong one")
        page.wait_for_function("document.getElementById('error').textContent.includes('密码错误')")
        _submit(page, "agent@shop.cn", "wrong two")
        page.wait_for_timeout(300)
        _submit(page, "agent@shop.cn", PASSWORD)  # locked now: the wait is shown
        page.wait_for_function("document.getElementById('error').textContent.includes('锁定')")
        assert " s)" in page.text_content("#error")
        _submit(page, "viewer@shop.cn", PASSWORD)
        page.wait_for_url(kefu.server.url + "/")  # `next` pointed off the site: home instead
        token = page.evaluate("sessionStorage.getItem('kefu.access_token')")
        me = kefu.http.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["role"] == "viewer" and me["tenant"] == "default"
        assert errors == []
    finally:
        context.close()
