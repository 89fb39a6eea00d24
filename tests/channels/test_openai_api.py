"""The OpenAI-compatible API, driven by the official `openai` client over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kefu.app import create_app
from kefu.channels.openai_api.protocol import ChatCompletion, ChatCompletionChunk
from kefu.engines.testing import QueueEngine
from kefu.http.errors import ErrorBody
from kefu.store.repo import DEFAULT_SYSTEM_PROMPT
from tests.channels.stand_ins import fail_midway
from tests.conftest import ServerThread, make_settings

# An engine reply the output guard replaces (a refund promise and an amount no source states).
UNSUPPORTED = "您好，收到您的问题。我们承诺三天内全额退款并赔偿您200元。其他问题也可以问我。"
ASKED = "退款能快点吗，能不能多赔点"


@pytest.fixture
def served(tmp_path: Path, demo_index: object) -> Iterator[tuple[str, QueueEngine, FastAPI]]:
    """kefu over real HTTP with a stand-in engine the test fills; no FAQ fast path, so the engine answers."""
    engine = QueueEngine()
    app = create_app(make_settings(tmp_path), engine=engine, configure_logs=False)
    with ServerThread(app) as srv:
        app.state.services.store.upsert_bot("default", "default", DEFAULT_SYSTEM_PROMPT, faq_threshold=1.01)
        yield srv.url, engine, app


def data_events(raw: str) -> list[tuple[str | None, str]]:
    """(event, data) of each SSE block."""
    out = []
    for block in raw.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((fields.get("event"), fields["data"]))
    return out


def test_official_client_streams(live_server: str) -> None:
    client = openai.OpenAI(base_url=f"{live_server}/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="default",
        stream=True,
        messages=[{"role": "user", "content": "给我讲个笑话吧"}],
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) > 2
    assert "".join(deltas).startswith("您好！这是来自替身引擎的回复")  # streamed sentence by sentence
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_official_client_non_streamed_and_models(live_server: str) -> None:
    client = openai.OpenAI(base_url=f"{live_server}/v1", api_key="unused")
    r = client.chat.completions.create(model="default", messages=[{"role": "user", "content": "如何修改收货地址？"}])
    assert "修改地址" in r.choices[0].message.content
    assert r.model_extra["kefu"]["sources"][0]["id"] == "zh-address-change-before-ship"
    assert [m.id for m in client.models.list()] == ["default"]


def test_stream_chunks_parse_into_the_chunk_model(live_server: str) -> None:
    body = {
        "model": "default",
        "stream": True,
        "messages": [{"role": "user", "content": "给我讲个笑话吧"}],
        "stream_options": {"include_usage": True},
    }
    with httpx.stream("POST", f"{live_server}/v1/chat/completions", json=body) as r:
        events = data_events(r.read().decode())
    assert events[-1] == (None, "[DONE]")
    chunks = [ChatCompletionChunk.model_validate_json(data) for _, data in events[:-1]]  # every chunk
    first, *middle, finished, usage = chunks
    assert first.choices[0].delta.role == "assistant" and first.choices[0].finish_reason is None
    assert middle and all(c.choices[0].delta.content for c in middle)
    assert finished.choices[0].finish_reason == "stop" and finished.kefu is not None
    assert finished.kefu.session_id == r.headers["x-session-id"] and finished.kefu.degraded is False
    assert usage.choices == [] and usage.usage is not None and usage.usage.completion_tokens > 0
    assert len({c.id for c in chunks}) == 1


def test_guard_replaced_reply_finishes_with_content_filter(served: tuple[str, QueueEngine, FastAPI]) -> None:
    url, engine, _ = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    engine.push(UNSUPPORTED)
    r = client.chat.completions.create(model="default", messages=[{"role": "user", "content": ASKED}])
    assert r.choices[0].finish_reason == "content_filter" and "200元" not in r.choices[0].message.content
    engine.push(UNSUPPORTED)
    chunks = list(
        client.chat.completions.create(model="default", stream=True, messages=[{"role": "user", "content": ASKED}])
    )
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert reasons == ["content_filter"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("您好，收到您的问题。") and "200元" not in text and "人工客服" in text
    engine.push(UNSUPPORTED)  # and the wire types say the same
    body = {"model": "default", "messages": [{"role": "user", "content": ASKED}]}
    raw = httpx.post(f"{url}/v1/chat/completions", json=body)
    assert ChatCompletion.model_validate_json(raw.content).choices[0].finish_reason == "content_filter"


def test_stream_failing_midway_ends_with_an_error_event(
    served: tuple[str, QueueEngine, FastAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine, app = served
    fail_midway(monkeypatch, app.state.services.pipeline)
    engine.push("第一句话。第二句话。第三句话。")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="default", stream=True, messages=[{"role": "user", "content": "给我讲个笑话吧"}]
    )
    got = []
    with pytest.raises(openai.APIError) as e:
        for chunk in stream:
            got.append(chunk)
    assert got  # the first delta arrived before the error
    assert "internal_error" in json.dumps(e.value.body)
    engine.push("第一句话。第二句话。第三句话。")
    body = {"model": "default", "stream": True, "messages": [{"role": "user", "content": "给我讲个笑话吧"}]}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
        events = data_events(r.read().decode())
    assert [e for e, _ in events] == [None, None, "error", None] and events[-1][1] == "[DONE]"
    assert ErrorBody.model_validate_json(events[2][1]).error.code == "internal_error"
    ChatCompletionChunk.model_validate_json(events[1][1])


async def test_async_client_keeps_session_by_header(live_server: str) -> None:
    raw = httpx.post(
        f"{live_server}/v1/chat/completions",
        json={"model": "default", "messages": [{"role": "user", "content": "第一句"}]},
    )
    sid = raw.headers["x-session-id"]
    client = openai.AsyncOpenAI(base_url=f"{live_server}/v1", api_key="unused", default_headers={"X-Session-Id": sid})
    r = await client.chat.completions.create(model="default", messages=[{"role": "user", "content": "第二句"}])
    assert r.model_extra["kefu"]["session_id"] == sid
    msgs = httpx.get(f"{live_server}/api/sessions/{sid}/messages").json()["messages"]
    assert [m["text"] for m in msgs if m["role"] == "user"] == ["第一句", "第二句"]
    await client.close()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "default"}, 422, "invalid_request"),
        ({"model": "default", "messages": []}, 422, "invalid_request"),
        ({"model": "default", "messages": [{"role": "hacker", "content": "x"}]}, 422, "invalid_request"),
        ({"model": "default", "messages": [{"role": "assistant", "content": "x"}]}, 422, "invalid_request"),
        ({"model": "default", "messages": [{"role": "user", "content": ""}]}, 422, "empty_text"),
        ({"model": "default", "messages": [{"role": "user", "content": "x" * 4001}]}, 413, "text_too_long"),
        ({"model": "x" * 200, "messages": [{"role": "user", "content": "hi"}]}, 422, "invalid_request"),
        ({"model": "../../etc", "messages": [{"role": "user", "content": "hi"}]}, 422, "invalid_request"),
        ({"model": "default", "messages": [{"role": "user", "content": "hi"}], "user": "a b"}, 422, "invalid_request"),
    ],
)
def test_bad_requests(client: TestClient, body: dict, status: int, code: str) -> None:
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


def test_bad_transport_and_sessions(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = client.post("/v1/chat/completions", content=b"{}", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    body = {"model": "default", "messages": [{"role": "user", "content": "hi"}]}
    r = client.post("/v1/chat/completions", json=body, headers={"X-Session-Id": "missing"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_session"
    sid = client.post("/v1/chat/completions", json=body).headers["x-session-id"]
    client.app.state.services.store.ensure_tenant("acme")
    r = client.post("/v1/chat/completions", json=body, headers={"X-Session-Id": sid, "X-Tenant-Id": "acme"})
    assert r.status_code == 404
    assert client.get("/v1/models", headers={"X-Tenant-Id": "acme"}).json()["data"][0]["id"] == "default"


def test_multimodal_content_parts_take_text(client: TestClient) -> None:
    body = {
        "model": "default",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "如何修改收货地址？"},
                    {"type": "image_url", "image_url": {"url": "x"}},
                ],
            }
        ],
    }
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200 and "修改地址" in r.json()["choices"][0]["message"]["content"]
