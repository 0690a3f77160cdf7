"""One JSON object per log line (DESIGN.md §12): `time`, `level`, `service`, `message`,
`trace_id` (and `span_id`), and for a request `method`, `route`, `status`, `duration_ms`.

`configure(service)` makes every logger of the process write that way, functions-framework's
gunicorn included. Nothing logged here carries a secret; as a last guard, whatever looks
like a bearer token or a JWT in a message is masked before it is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from shared_lib.observability import trace

FIELDS = ("method", "route", "status", "duration_ms", "function", "event_type", "event_id")
# A JWT (three base64url parts, the first a JSON header) or a bearer credential.
SECRET = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}|(?i:bearer)\s+[\w.~+/=-]{8,}")
_configured: list[str] = []


def mask(text: str) -> str:
    return SECRET.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        current = trace.current()
        trace_id = getattr(record, "trace_id", None) or (current.trace_id if current else None)
        if trace_id:
            line["trace_id"] = trace_id
            line["span_id"] = getattr(record, "span_id", None) or (current.span_id if current else None)
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["error"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


def configure(service: str, *, level: int = logging.INFO) -> None:
    """Every log line of this process as JSON on stderr, as `service`. Idempotent."""
    if _configured:
        return
    _configured.append(service)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per event sent
    for name in ("gunicorn.error", "gunicorn.access", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        for existing in logger.handlers:
            existing.setFormatter(JsonFormatter(service))


def gunicorn_config(service: str) -> dict[str, object]:
    """gunicorn's `logconfig_dict`: its own lines and the app's, all JSON as `service`."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter", "service": service}},
        "handlers": {"stderr": handler},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {"gunicorn.error": {"level": "WARNING", "handlers": ["stderr"],
                                       "propagate": False},
                    "httpx": {"level": "WARNING"}},
    }
