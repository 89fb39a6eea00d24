from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kefu.ops.logging import JsonFormatter, request_id_var, session_id_var
from kefu.ops.settings import Settings


def test_env_overrides_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "kefu.yaml"
    cfg.write_text("port: 9001\nengine:\n  backend: ollama\n  model: qwen2.5:7b\n  temperature: 0.1\n")
    monkeypatch.setenv("KEFU_CONFIG", str(cfg))
    monkeypatch.setenv("KEFU_ENGINE__MODEL", "deepseek-r1:7b")
    monkeypatch.setenv("KEFU_MAX_MESSAGE_CHARS", "100")
    s = Settings()
    assert s.port == 9001 and s.engine.backend == "ollama" and s.engine.temperature == 0.1
    assert s.engine.model == "deepseek-r1:7b" and s.max_message_chars == 100


def test_bad_settings_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_ENGINE__TEMPERATURE", "9")
    with pytest.raises(ValueError):
        Settings()


def test_json_log_line_carries_ids() -> None:
    t1, t2 = request_id_var.set("req-1"), session_id_var.set("sess-1")
    try:
        rec = logging.getLogRecordFactory()("kefu.x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        rec.reason = "timeout"
    finally:
        request_id_var.reset(t1)
        session_id_var.reset(t2)
    line = json.loads(JsonFormatter().format(rec))
    assert line["msg"] == "hello world" and line["request_id"] == "req-1" and line["session_id"] == "sess-1"
    assert line["reason"] == "timeout" and line["level"] == "INFO"


def test_turn_logs_have_request_and_session(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    from kefu.engines.base import EngineError

    client.app.state.services.engine.fail = EngineError("down", kind="connection")
    caplog.set_level(logging.INFO)
    caplog.handler.setFormatter(JsonFormatter())
    r = client.post("/api/chat", json={"text": "你们店靠谱吗"}, headers={"X-Request-Id": "rid-42"})
    assert r.status_code == 200 and r.json()["degraded"]
    lines = [json.loads(caplog.handler.format(rec)) for rec in caplog.records if rec.name.startswith("kefu")]
    degraded = [ln for ln in lines if ln["msg"].startswith("engine failed")]
    assert degraded and degraded[0]["request_id"] == "rid-42"
    assert degraded[0]["session_id"] == r.json()["session_id"]
    assert 'kefu_degraded_total{reason="connection"}' in client.get("/metrics").text
