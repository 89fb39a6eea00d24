"""Non-streamed replies over real HTTP: a client that leaves before its reply is ready stops the engine,
and the part of the reply that was produced is still recorded."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from kefu.app import create_app
from tests.channels.stand_ins import SLOW_REPLY, SlowEngine
from tests.conftest import ServerThread, make_settings


def _post_and_leave(port: int, path: str, body: dict, headers: dict[str, str], engine: SlowEngine) -> None:
    """Send the request on a raw socket, wait until the engine is producing, then close the connection."""
    data = json.dumps(body).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n{head}\r\n"
    ).encode() + data
    before = engine.sent
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(request)
        deadline = time.monotonic() + 10
        while engine.sent < before + 4:
            assert time.monotonic() < deadline, "the engine never started"
            time.sleep(0.01)


@pytest.mark.parametrize("route", ["/api/chat", "/v1/chat/completions"])
def test_leaving_client_cancels_the_turn(tmp_path: Path, demo_index: object, route: str) -> None:
    engine = SlowEngine(gap_s=0.05)  # the whole reply would take 10 s
    engine.push("您好。")
    app = create_app(make_settings(tmp_path), engine=engine, configure_logs=False)
    with ServerThread(app) as srv:
        if route == "/api/chat":
            sid = httpx.post(f"{srv.url}/api/chat", json={"text": "我想问个问题"}).json()["session_id"]
            body: dict = {"text": "给我讲个笑话吧", "session_id": sid}
            headers: dict[str, str] = {}
        else:
            first = {"model": "default", "messages": [{"role": "user", "content": "我想问个问题"}]}
            sid = httpx.post(f"{srv.url}/v1/chat/completions", json=first).headers["x-session-id"]
            body = {"model": "default", "messages": [{"role": "user", "content": "给我讲个笑话吧"}]}
            headers = {"X-Session-Id": sid}
        _post_and_leave(srv.port, route, body, headers, engine)
        left = time.monotonic()
        assert engine.closed.wait(2.0), "the engine kept generating for a client that had gone"
        assert time.monotonic() - left < 1.0
        produced = engine.sent
        assert produced < 40  # of 200
        time.sleep(0.2)
        assert engine.sent == produced  # and it stays stopped

        deadline = time.monotonic() + 5
        while True:  # the turn is recorded after the cancel, on the database thread
            msgs = httpx.get(f"{srv.url}/api/sessions/{sid}/messages").json()["messages"]
            if len(msgs) == 4 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
        partial = msgs[3]["text"]
        assert partial and SLOW_REPLY.startswith(partial) and len(partial) < len(SLOW_REPLY)
