"""Structured logs: one JSON object per line with the request id and session id of the request being
served, PII redacted from the message; the level comes from `server.log_level`."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Callable

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
session_id: contextvars.ContextVar[str] = contextvars.ContextVar("session_id", default="")


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Callable[[str], str] | None = None) -> None:
        super().__init__()
        self.redact = redact or (lambda text: text)

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "msg": self.redact(record.getMessage()),
        }
        if rid := request_id.get():
            entry["request_id"] = rid
        if sid := session_id.get():
            entry["session_id"] = sid
        for key in ("route", "method", "status", "ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, redact: Callable[[str], str] | None = None) -> None:
    """JSON lines on stderr for edgebot's loggers and uvicorn's."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(redact))
    for name in ("edgebot", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
