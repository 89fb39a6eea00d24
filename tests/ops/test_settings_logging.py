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


def test_secrets_never_in_repr_or_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The engine key, the vault key and the admin token are SecretStr: not in repr, str or a logged dump."""
    s = Settings(
        admin_token="adm-SECRET-1",
        engine={"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-SECRET-2"},
        guard={"vault_key": "vault-SECRET-3", "vault_key_file": str(tmp_path / "v.key")},
    )
    shown = repr(s) + str(s) + s.model_dump_json()
    caplog.set_level(logging.INFO)
    logging.getLogger("kefu.test").info("settings %s", s, extra={"settings": s.model_dump()})
    shown += "".join(JsonFormatter().format(r) for r in caplog.records)
    for secret in ("adm-SECRET-1", "sk-SECRET-2", "vault-SECRET-3"):
        assert secret not in shown
    assert s.engine.api_key is not None and s.engine.api_key.get_secret_value() == "sk-SECRET-2"


def test_readable_lines_at_a_terminal_json_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    from kefu.ops import logging as kefu_logging

    monkeypatch.setattr(kefu_logging.sys.stderr, "isatty", lambda: True, raising=False)
    assert kefu_logging.use_json(None) is False
    assert kefu_logging.use_json(True) is True
    monkeypatch.setattr(kefu_logging.sys.stderr, "isatty", lambda: False, raising=False)
    assert kefu_logging.use_json(None) is True
    rec = logging.getLogRecordFactory()("kefu.app", logging.INFO, __file__, 1, "kefu ready", (), None)
    rec.engine = "llamacpp"
    line = kefu_logging.TextFormatter().format(rec)
    assert "INFO" in line and "kefu.app: kefu ready" in line and "engine=llamacpp" in line and "{" not in line
    rec = logging.getLogRecordFactory()("uvicorn.error", logging.INFO, __file__, 1, "Started server process", (), None)
    rec.color_message = "Started server process [%d]"  # uvicorn adds it: before, printed after every line
    assert "color_message" not in kefu_logging.TextFormatter().format(rec)


def test_third_party_debug_lines_follow_kefu_level(capsys: pytest.CaptureFixture[str]) -> None:
    """A library logger left at DEBUG (bm25s did this) prints nothing under INFO."""
    from kefu.ops.logging import configure_logging

    noisy = logging.getLogger("some_library")
    noisy.setLevel(logging.DEBUG)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", json_logs=True)
        late = logging.getLogger("late_library")  # configured by its library after kefu's logging
        late.setLevel(logging.DEBUG)
        noisy.debug("resetting tokenizer")
        late.debug("loaded vocabulary")
        logging.getLogger("kefu.x").info("visible")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    err = capsys.readouterr().err
    assert "visible" in err and "resetting tokenizer" not in err and "loaded vocabulary" not in err


def test_sql_statements_are_not_logged_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    """Before, SQLAlchemy inherited INFO from the root and logged every statement: a `kefu serve` whose output
    nobody read (a pipe) blocked on its own log and stopped answering."""
    import sqlalchemy as sa

    from kefu.ops.logging import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", json_logs=True)
        with sa.create_engine("sqlite://").connect() as conn:
            conn.execute(sa.text("SELECT 42 AS answer"))
        logging.getLogger("kefu.x").info("visible")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    err = capsys.readouterr().err
    assert "visible" in err and "SELECT 42" not in err and "BEGIN" not in err
