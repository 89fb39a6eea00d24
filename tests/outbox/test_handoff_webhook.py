"""A hand-off reaches the company's systems: kefu (real HTTP) hands a conversation to a person, and the event,
written with the hand-off in its transaction, is delivered to a real HTTP endpoint, signed, once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx

from kefu.app import create_app
from kefu.engines.testing import QueueEngine
from tests.conftest import ServerThread, free_port, make_settings

SECRET = "webhook-secret-for-tests"


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[dict, bytes, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append((dict(self.headers), body, json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/kefu-events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_handoff_event_is_delivered_signed_and_once(tmp_path: Path, demo_index: object) -> None:
    receiver = Receiver()
    settings = make_settings(tmp_path, webhook_url=receiver.url, webhook_secret=SECRET, outbox_poll_s=0.2)
    try:
        with ServerThread(create_app(settings, engine=QueueEngine(), configure_logs=False)) as srv:
            r = httpx.post(f"{srv.url}/api/chat", json={"text": "我要投诉，转人工！", "customer_id": "c-9"}, timeout=30)
            assert r.status_code == 200 and r.json()["handed_off"] is True
            session = r.json()["session_id"]
            deadline = time.monotonic() + 15
            while not receiver.got and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(receiver.got) == 1
            headers, body, event = receiver.got[0]
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-Kefu-Signature"] == expected
            assert event["kind"] == "handoff" and event["tenant_id"] == "default"
            assert event["payload"]["session_id"] == session and event["payload"]["reason"]
            assert "投诉" not in body.decode()  # the event names the session, not what the customer said
            # a message while pending is no new hand-off: no second event
            httpx.post(f"{srv.url}/api/chat", json={"text": "还在吗", "session_id": session}, timeout=30)
            time.sleep(1.0)
            assert len(receiver.got) == 1
    finally:
        receiver.server.shutdown()
