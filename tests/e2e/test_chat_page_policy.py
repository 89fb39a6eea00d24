"""The answer policy in the chat page, in real Chromium: a clarification's suggestions are buttons that answer
when clicked, and a request for a person shows the hand-off notice. kefu runs with its default policy and
the stand-in engine (which these turns never reach)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kefu.app import create_app
from kefu.engines.testing import QueueEngine
from kefu.knowledge.service import demo_faq
from kefu.ops.settings import PolicySettings
from tests.conftest import ServerThread, make_settings
from tests.e2e.test_chat_page import PageWatch, _last_bot, _wait_reply_finished, chromium_browser  # noqa: F401

pytestmark = pytest.mark.slow

AMBIGUOUS = "想改一下地址"  # before or after shipping? two entries fit: the bot asks which
ANSWERS = {e.question: e.answer for e in demo_faq()}


@pytest.fixture
def policy_server(tmp_path: Path, demo_index: object) -> Iterator[str]:
    engine = QueueEngine(default_reply="STAND-IN: this reply must never be shown")
    app = create_app(
        make_settings(tmp_path, policy=PolicySettings(generation="off")), engine=engine, configure_logs=False
    )
    with ServerThread(app) as srv:
        yield srv.url


@pytest.fixture
def page(chromium_browser, policy_server: str):  # noqa: F811
    context = chromium_browser.new_context(viewport={"width": 960, "height": 760}, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    watch = PageWatch(policy_server)
    page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    page.goto(policy_server.rstrip("/") + "/")
    page.wait_for_selector("body[data-ready='true']")
    try:
        yield page
    finally:
        assert watch.page_errors == []
        context.close()


def _ask(page, text: str) -> None:
    page.fill("#input", text)
    page.press("#input", "Enter")
    page.wait_for_function("n => document.querySelectorAll('#messages .msg.bot').length >= n", arg=1)
    _wait_reply_finished(page)


def test_clarification_buttons_answer_and_handoff_notice(page) -> None:
    _ask(page, AMBIGUOUS)
    bot = _last_bot(page)
    buttons = bot.locator("[data-testid=suggestion]")
    assert buttons.count() >= 2, bot.inner_text()
    assert "您是想问" in bot.inner_text()
    labels = [buttons.nth(i).inner_text() for i in range(buttons.count())]
    assert any("发货" in lbl and "地址" in lbl for lbl in labels), labels

    # clicking one answers that question from its FAQ entry
    first = labels[0].split(". ", 1)[1]
    buttons.nth(0).click()
    page.wait_for_function("() => document.querySelectorAll('#messages .msg.bot').length >= 2")
    _wait_reply_finished(page)
    answer = _last_bot(page).inner_text()
    assert ANSWERS[first][:20] in answer, answer
    assert page.locator("#messages .msg.user").last.inner_text().strip() == first

    # asking for a person: the hand-off notice
    _ask(page, "我要转人工")
    page.wait_for_function("() => document.querySelectorAll('#messages .msg.bot').length >= 3")
    _wait_reply_finished(page)
    bot = _last_bot(page)
    assert bot.locator("[data-testid=handoff-notice]").count() == 1
    assert "人工客服" in bot.inner_text()
    assert "STAND-IN" not in page.locator("#messages").inner_text()


@pytest.fixture
def looping_server(tmp_path: Path, demo_index: object) -> Iterator[str]:
    """kefu with generation on and a stand-in engine that falls into a loop after a good start."""
    engine = QueueEngine(default_reply="我来帮您看看吧，" * 8)
    engine.token_delay_s = 0.02
    app = create_app(
        make_settings(tmp_path, policy=PolicySettings(generation="always")), engine=engine, configure_logs=False
    )
    with ServerThread(app) as srv:
        yield srv.url


def test_a_reply_withdrawn_midway_shows_only_its_replacement(chromium_browser, looping_server: str) -> None:  # noqa: F811
    """The page shows a generated reply as it streams; when the output guard withdraws it (a `replace` event),
    the bubble holds the policy's next option and nothing of the loop."""
    context = chromium_browser.new_context(viewport={"width": 960, "height": 760}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(looping_server.rstrip("/") + "/")
        page.wait_for_selector("body[data-ready='true']")
        # every text the bubbles show while the reply streams
        page.evaluate(
            """() => { window.__shown = [];
                new MutationObserver(() => document.querySelectorAll('#messages .msg.bot .text')
                    .forEach(n => window.__shown.push(n.textContent)))
                .observe(document.querySelector('#messages'), {subtree: true, childList: true, characterData: true});
            }"""
        )
        _ask(page, "给我讲个笑话吧")
        text = _last_bot(page).inner_text()
        assert "帮您看看" not in text and "人工客服" in text, text
        shown = page.evaluate("() => window.__shown")
        assert any("帮您看看" in s for s in shown)  # the reply's beginning went out at once
        assert not any("帮您看看" in s and "人工客服" in s for s in shown)  # replaced, never followed
        assert errors == []
    finally:
        context.close()
