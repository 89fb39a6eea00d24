"""Structured JSON logs; every line carries the request id and session id of its context."""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
session_id_var: ContextVar[str | None] = ContextVar("session_id", default=None)

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "session_id",
    "color_message",  # uvicorn's copy of its message with terminal colours: the message is already there
}
_base_factory = logging.getLogRecordFactory()


def _record_factory(*args: object, **kwargs: object) -> logging.LogRecord:
    """Stamp the ids when the record is made, not when it is formatted (handlers may run later)."""
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id_var.get()
    record.session_id = session_id_var.get()
    return record


logging.setLogRecordFactory(_record_factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra= fields are kept as top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "session_id": getattr(record, "session_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key not in doc and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


class TextFormatter(logging.Formatter):
    """Readable lines for a person at a terminal: time, level, logger, message, then the extra fields and
    the ids as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        t = time.strftime("%H:%M:%S", time.localtime(record.created))
        line = f"{t} {record.levelname:<7} {record.name}: {record.getMessage()}"
        extra = [f"{k}={v}" for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")]
        for key in ("request_id", "session_id"):
            value = getattr(record, key, None)
            if value:
                extra.append(f"{key.split('_')[0]}={value}")
        if extra:
            line += "  " + " ".join(extra)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def use_json(json_logs: bool | None) -> bool:
    """JSON lines unless told otherwise, except that a person at a terminal gets readable lines."""
    if json_logs is not None:
        return json_logs
    return not sys.stderr.isatty()


QUIET_LIBRARIES = ("sqlalchemy", "uvicorn.access", "httpx", "httpcore", "aio_pika", "aiormq", "urllib3")


def configure_logging(level: str = "INFO", json_logs: bool | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json(json_logs) else TextFormatter())
    # The handler filters by level too: a library logger set to DEBUG after this point still prints nothing below it.
    handler.setLevel(level.upper())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party loggers follow kefu's level and handler (some libraries set DEBUG or add a handler of
    # their own when imported: bm25s printed DEBUG lines under INFO).
    for name, lg in list(logging.root.manager.loggerDict.items()):
        if isinstance(lg, logging.Logger) and not name.startswith("kefu"):
            lg.handlers[:] = []
            lg.setLevel(logging.NOTSET)
            lg.propagate = True
    # Libraries that log every statement or request at INFO stay at WARNING unless kefu runs at DEBUG: SQLAlchemy
    # inherits INFO from the root and then logs every SQL statement (it filled a `kefu serve` log pipe and hung
    # the server); access logs on every request cost CPU at load, and our own middleware logs errors.
    quiet = logging.WARNING if logging.getLevelName(level.upper()) != logging.DEBUG else logging.NOTSET
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
