"""The OpenAI-compatible API, driven by the official `openai` client over real HTTP."""

from __future__ import annotations

import httpx
import openai
import pytest
from fastapi.testclient import TestClient


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
