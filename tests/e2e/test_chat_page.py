"""Real-browser tests of the web chat page (src/kefu/channels/web/static/index.html).

The tests use the ``live_server`` fixture (tests/conftest.py): the base URL of a running kefu with a
stand-in engine.  ``fake_server`` below is a tiny stand-alone imitation of the wire format in
docs/api.md, kept for working on the page without the service; it is not used by the tests.

Chromium comes from the Debian package (``apt-get install chromium``); without it the tests skip,
except on CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STATIC_DIR = Path(__file__).resolve().parents[2] / "src" / "kefu" / "channels" / "web" / "static"
SCREENSHOT = Path("/tmp/chat_page.png")
QUESTION = "如何修改收货地址？"
TIMEOUT_MS = 30_000


# --------------------------------------------------------------------------------------------------
# Browser fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing on CI: apt-get install chromium")
        pytest.skip("chromium not installed: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class PageWatch:
    """Collects what the page did that a test may want to assert on."""

    def __init__(self, base_url: str) -> None:
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
        self.foreign_requests: list[str] = []
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []

    def on_request(self, request) -> None:
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            return
        if not url.startswith(self.origin + "/"):
            self.foreign_requests.append(url)


@pytest.fixture
def chat(chromium_browser, live_server: str):
    """A fresh browser context (empty localStorage) with a page on the chat UI."""
    base_url = str(live_server).rstrip("/")
    context = chromium_browser.new_context(
        viewport={"width": 960, "height": 760}, device_scale_factor=1, locale="zh-CN"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = PageWatch(base_url)
    page.on("request", watch.on_request)
    page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and watch.console_errors.append(msg.text))
    page.goto(base_url + "/")
    page.wait_for_selector("body[data-ready='true']")
    try:
        yield page, watch, base_url
    finally:
        context.close()


def _last_bot(page):
    return page.locator("#messages .msg.bot").last


def _wait_reply_finished(page) -> None:
    page.wait_for_function(
        """() => {
            const bots = document.querySelectorAll('#messages .msg.bot');
            const last = bots[bots.length - 1];
            return !!last && ['done', 'error'].includes(last.dataset.state);
        }"""
    )


def _stored(page, key: str):
    return page.evaluate("k => window.localStorage.getItem(k)", key)


def _assert_clean(watch: PageWatch) -> None:
    assert watch.foreign_requests == [], f"page requested other origins: {watch.foreign_requests}"
    assert watch.page_errors == [], f"uncaught page errors: {watch.page_errors}"


# --------------------------------------------------------------------------------------------------
# Tests against the running service
# --------------------------------------------------------------------------------------------------


def test_chat_roundtrip_language_and_reload(chat) -> None:
    page, watch, _ = chat

    # Chinese-first UI.
    assert page.locator("#title").inner_text() == "智能客服"
    assert page.title() == "智能客服"
    assert page.locator("#input").get_attribute("placeholder") == "请输入您的问题…"
    assert page.locator("#send").inner_text().strip() == "发送"
    assert page.locator("#send").is_disabled()  # nothing typed yet
    assert page.locator("[data-testid=quick-question]", has_text=QUESTION).count() == 1
    customer_id = _stored(page, "kefu.customer_id")
    assert customer_id, "a customer id is generated and stored"

    # Ask a question and wait for the streamed reply to finish.
    page.fill("#input", QUESTION)
    assert page.locator("#counter").inner_text() == f"{len(QUESTION)} / 4000"
    with page.expect_request("**/api/chat/stream") as first_req:
        page.click("#send")
    body = json.loads(first_req.value.post_data or "{}")
    assert body["text"] == QUESTION
    assert body["session_id"] is None
    assert body["customer_id"] == customer_id

    _wait_reply_finished(page)
    bot = _last_bot(page)
    assert bot.get_attribute("data-state") == "done", bot.inner_text()
    assert page.locator("#messages .msg.user").last.inner_text().strip() == QUESTION
    answer = bot.locator(".bubble .text").inner_text().strip()
    assert answer, "the bot reply has text"
    assert page.input_value("#input") == ""

    sources = bot.locator(".sources")
    assert sources.count() == 1, "the reply lists its sources"
    assert sources.locator("summary").inner_text().startswith("参考来源")
    sources.locator("summary").click()
    items = sources.locator("li.source")
    assert items.count() >= 1
    assert items.first.locator(".source-title").inner_text().strip()
    assert items.first.locator(".source-title").is_visible()

    session_id = _stored(page, "kefu.session_id")
    assert session_id, "session id from meta/done is kept in localStorage"
    page.wait_for_timeout(300)  # let the sources disclosure animation settle
    page.screenshot(path=str(SCREENSHOT))

    # English toggle switches the UI strings, and the choice is stored.
    page.click("#lang-toggle")
    assert page.locator("#input").get_attribute("placeholder") == "Type your question…"
    assert page.locator("#send").inner_text().strip() == "Send"
    assert page.locator("#title").inner_text() == "Customer Service"
    assert page.locator("#new-chat").inner_text().strip() == "New chat"
    assert bot.locator(".sources summary").inner_text().startswith("Sources")
    assert _stored(page, "kefu.lang") == "en"
    page.click("#lang-toggle")
    assert page.locator("#input").get_attribute("placeholder") == "请输入您的问题…"
    page.click("#lang-toggle")

    # Reload: the session, the language and the transcript survive.
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert _stored(page, "kefu.session_id") == session_id
    assert _stored(page, "kefu.customer_id") == customer_id
    assert page.locator("#input").get_attribute("placeholder") == "Type your question…"
    assert page.locator("#messages .msg.user").first.inner_text().strip() == QUESTION
    assert _last_bot(page).locator(".bubble .text").inner_text().strip() == answer

    # The next message continues the same session (Enter sends).
    page.locator("#input").fill("退款多久到账？")
    with page.expect_request("**/api/chat/stream") as second_req:
        page.locator("#input").press("Enter")
    body = json.loads(second_req.value.post_data or "{}")
    assert body["session_id"] == session_id
    assert body["customer_id"] == customer_id
    _wait_reply_finished(page)
    assert _last_bot(page).get_attribute("data-state") == "done"
    assert page.locator("#messages .msg.user").count() == 2
    assert _stored(page, "kefu.session_id") == session_id

    # New chat clears the session and the transcript (the customer stays the same).
    page.click("#new-chat")
    assert page.locator("#messages .msg.user").count() == 0
    assert page.locator("#messages .msg.bot").count() == 0
    assert page.locator("#messages .msg.welcome").is_visible()
    assert _stored(page, "kefu.session_id") is None
    assert _stored(page, "kefu.customer_id") == customer_id

    _assert_clean(watch)


def test_server_error_is_shown_readably(chat) -> None:
    page, watch, _ = chat

    # A stored session the server does not know (e.g. its database was reset) is dropped quietly.
    page.evaluate("window.localStorage.setItem('kefu.session_id', 'gone-session-1')")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    page.fill("#input", QUESTION)
    page.click("#send")
    _wait_reply_finished(page)
    assert _last_bot(page).get_attribute("data-state") == "done"
    assert _stored(page, "kefu.session_id") not in (None, "gone-session-1")
    assert page.locator("#input").get_attribute("maxlength") == "4000"

    # Get past the browser's own limit to make the server answer 4xx text_too_long.
    page.evaluate("document.getElementById('input').removeAttribute('maxlength')")
    page.fill("#input", "长" * 4001)
    counter = page.locator("#counter")
    assert counter.inner_text() == "4001 / 4000"
    assert "over" in (counter.get_attribute("class") or "")
    with page.expect_response("**/api/chat/stream") as resp_info:
        page.click("#send")
    response = resp_info.value
    assert 400 <= response.status < 500
    server_message = response.json()["error"]["message"]

    _wait_reply_finished(page)
    err = _last_bot(page)
    assert err.get_attribute("data-state") == "error"
    assert "error" in (err.get_attribute("class") or "")
    shown = err.locator(".bubble .text").inner_text().strip()
    assert shown == server_message.strip()
    for raw in ("{", "Traceback", '"code"', "text_too_long"):
        assert raw not in shown
    # The page is usable again afterwards.
    page.fill("#input", QUESTION)
    assert page.locator("#send").is_enabled()

    # A 5xx with a non-JSON body never reaches the screen raw.
    page.route(
        "**/api/chat/stream",
        lambda route: route.fulfill(
            status=502, content_type="text/html", body="<html>Traceback (most recent call last)</html>"
        ),
    )
    page.click("#send")
    _wait_reply_finished(page)
    shown = _last_bot(page).locator(".bubble .text").inner_text()
    assert "Traceback" not in shown and "<html>" not in shown
    assert "服务暂时不可用" in shown
    page.unroute("**/api/chat/stream")

    _assert_clean(watch)


# A fetch stand-in, installed before the page's own script, that lets the test feed the SSE stream
# piece by piece (window.__sse.push / close) so streaming, flags and escaping can be checked exactly.
_STUB_FETCH = """
(() => {
  const realFetch = window.fetch.bind(window);
  const enc = new TextEncoder();
  window.__sse = { requests: [], controller: null };
  const CRLF = String.fromCharCode(13, 10);
  window.__sse.push = (event, data) => window.__sse.controller.enqueue(
    enc.encode('event: ' + event + CRLF + 'data: ' + JSON.stringify(data) + CRLF + CRLF));
  window.__sse.close = () => window.__sse.controller.close();
  window.fetch = (url, init) => {
    if (!String(url).includes('/api/chat/stream')) return realFetch(url, init);
    window.__sse.requests.push(JSON.parse(init.body));
    const body = new ReadableStream({ start(c) { window.__sse.controller = c; } });
    return Promise.resolve(new Response(body, {
      status: 200, headers: { 'Content-Type': 'text/event-stream' } }));
  };
})();
"""


def test_streaming_flags_and_escaping(chat) -> None:
    page, watch, _ = chat
    page.add_init_script(_STUB_FETCH)
    page.reload()
    page.wait_for_selector("body[data-ready='true']")

    # Shift+Enter makes a new line, Enter sends.
    page.locator("#input").press_sequentially("第一行")
    page.locator("#input").press("Shift+Enter")
    page.locator("#input").press_sequentially("第二行")
    assert page.input_value("#input") == "第一行\n第二行"
    page.locator("#input").press("Enter")
    page.wait_for_function("() => window.__sse.controller !== null")
    assert page.evaluate("window.__sse.requests[0].text") == "第一行\n第二行"
    assert page.locator("#messages .msg.user").last.inner_text() == "第一行\n第二行"

    bot = _last_bot(page)
    assert bot.get_attribute("data-state") == "pending"
    assert page.locator("#send").is_disabled()
    assert page.locator("#counter").inner_text() == "0 / 4000"
    page.fill("#input", "another question")
    assert page.locator("#send").is_disabled(), "send stays disabled while a reply streams"

    sources = [
        {"id": "x", "title": "<img src=x onerror=alert(1)><b>标题</b>", "snippet": "…", "score": 0.9312},
        {"id": "y", "title": "退款说明", "snippet": "…", "score": 0.5},
    ]
    page.evaluate("s => window.__sse.push('meta', {session_id: 'sess-1', sources: s})", sources)
    page.evaluate("window.__sse.push('delta', {text: '您'})")
    page.wait_for_function("() => document.querySelector('#messages .msg.bot:last-child .text').textContent === '您'")
    assert bot.get_attribute("data-state") == "streaming"
    assert page.locator("#send").is_disabled()
    page.evaluate("window.__sse.push('delta', {text: '好<b>!</b>'})")
    page.wait_for_function(
        "() => document.querySelector('#messages .msg.bot:last-child .text').textContent === '您好<b>!</b>'"
    )
    done = {
        "session_id": "sess-1",
        "message_id": 7,
        "text": "您好<b>!</b>",
        "sources": sources,
        "confidence": 0.4,
        "handed_off": True,
        "degraded": True,
    }
    page.evaluate("d => { window.__sse.push('done', d); window.__sse.close(); }", done)
    _wait_reply_finished(page)

    assert bot.get_attribute("data-state") == "done"
    assert bot.locator(".bubble .text").inner_text() == "您好<b>!</b>"
    assert bot.locator("b, img").count() == 0, "bot text and source titles are escaped"
    assert bot.locator("[data-testid=note-degraded]").inner_text() == "知识库答案（模型暂不可用）"
    assert bot.locator("[data-testid=note-handed-off]").inner_text() == "已转人工"
    bot.locator(".sources summary").click()
    titles = bot.locator(".source-title").all_inner_texts()
    assert titles == ["<img src=x onerror=alert(1)><b>标题</b>", "退款说明"]
    assert bot.locator(".source-score").all_inner_texts() == ["0.93", "0.50"]
    assert _stored(page, "kefu.session_id") == "sess-1"
    assert page.locator("#send").is_enabled()

    page.click("#lang-toggle")
    assert bot.locator("[data-testid=note-degraded]").inner_text() == ("Knowledge-base answer (model unavailable)")
    assert bot.locator("[data-testid=note-handed-off]").inner_text() == "Transferred to an agent"

    # A second message carries the session id; a stream that ends early keeps what arrived.
    page.click("#send")
    page.wait_for_function("() => window.__sse.requests.length === 2")
    assert page.evaluate("window.__sse.requests[1].session_id") == "sess-1"
    page.evaluate("window.__sse.push('delta', {text: 'partial'}); window.__sse.close();")
    _wait_reply_finished(page)
    assert _last_bot(page).locator(".bubble .text").inner_text() == "partial"
    assert _last_bot(page).locator("[data-testid=note-interrupted]").count() == 1

    page.set_viewport_size({"width": 390, "height": 760})
    page.screenshot(path=str(SCREENSHOT.with_name("chat_page_mobile.png")))
    _assert_clean(watch)


# --------------------------------------------------------------------------------------------------
# Stand-alone fake of the chat API (for working on the page without the service; unused by the
# tests above, which take ``live_server``).
# --------------------------------------------------------------------------------------------------

_FAKE_KB = {
    "如何修改收货地址？": (
        "faq-zh-address-change",
        "订单发货前，您可以在「我的订单」中点击「修改地址」进行修改；已发货的订单请联系快递或人工客服。",
        0.93,
    ),
    "退款多久到账？": (
        "faq-zh-refund-time",
        "退款审核通过后 1–3 个工作日原路退回，具体以银行到账时间为准。",
        0.9,
    ),
    "怎么开发票？": (
        "faq-zh-invoice",
        "订单完成后，在订单详情页点击「申请发票」，填写抬头和税号即可。",
        0.88,
    ),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fake_app():
    from aiohttp import web

    sessions: dict[str, int] = {}

    def error(status: int, code: str, message: str):
        return web.json_response({"error": {"code": code, "message": message}}, status=status)

    async def index(_request):
        return web.FileResponse(STATIC_DIR / "index.html")

    async def stream(request):
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return error(400, "invalid_json", "请求格式错误 / Invalid JSON")
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str):
            return error(400, "invalid_request", "缺少 text / Missing text")
        if not text.strip():
            return error(400, "empty_text", "消息不能为空 / Message is empty")
        if len(text) > 4000:
            return error(400, "text_too_long", "消息过长（最多 4000 字） / Message too long (max 4000 characters)")
        session_id = body.get("session_id")
        if session_id and session_id not in sessions:
            return error(404, "unknown_session", "会话不存在 / Unknown session")
        if not session_id:
            session_id = f"s-{len(sessions) + 1}"
            sessions[session_id] = 0
        sessions[session_id] += 1
        hit = _FAKE_KB.get(text.strip())
        if hit:
            sid, answer, score = hit
            sources = [{"id": sid, "title": text.strip(), "snippet": answer[:40], "score": score}]
        else:
            answer, sources = "抱歉，我暂时没有找到相关答案，已为您转接人工客服。", []
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)

        async def emit(event: str, data: dict) -> None:
            payload = json.dumps(data, ensure_ascii=False)
            await resp.write(f"event: {event}\r\ndata: {payload}\r\n\r\n".encode())

        await emit("meta", {"session_id": session_id, "sources": sources})
        for ch in answer:
            await emit("delta", {"text": ch})
            await asyncio.sleep(0.01)
        await emit(
            "done",
            {
                "session_id": session_id,
                "message_id": sessions[session_id],
                "text": answer,
                "sources": sources,
                "confidence": sources[0]["score"] if sources else 0.0,
                "handed_off": not sources,
                "degraded": False,
            },
        )
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_static("/static", STATIC_DIR)
    app.router.add_post("/api/chat/stream", stream)
    return app


@pytest.fixture(scope="module")
def fake_server() -> Iterator[str]:
    """Base URL of a stand-in for kefu's chat API (docs/api.md), served from a background thread."""
    pytest.importorskip("aiohttp")
    from aiohttp import web

    port = _free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_fake_app())
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="kefu-fake-server", daemon=True)
    thread.start()
    assert started.wait(10), "fake server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
