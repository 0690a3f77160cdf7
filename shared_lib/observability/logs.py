"""One JSON object per log line (DESIGN.md §12): `time`, `level`, `service`, `message`,
`trace_id` (and `span_id`), and for a request `method`, `route`, `status`, `duration_ms`.

`configure(service)` makes every logger of the process write that way, functions-framework's
gunicorn included. Nothing logged here carries a secret; as a last guard, whatever looks
like a bearer token or a JWT in a message is masked before it is written.

Lines are written in batches (`Batched`): every answered request logs a line, and one
write per line, with sixteen threads taking turns at the handler's lock, cost a warm
function about a tenth of its throughput. A warning or an error is written at once, with
the lines before it; the rest within `FLUSH_SECONDS`, and at exit.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import sys
import threading
import time
from datetime import UTC, datetime

from shared_lib.observability import trace

FIELDS = ("method", "route", "status", "duration_ms", "function", "event_type", "event_id")
# A JWT (three base64url parts, the first a JSON header) or a bearer credential.
SECRET = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}|(?i:bearer)\s+[\w.~+/=-]{8,}")
_configured: list[str] = []
FLUSH_SECONDS = 0.2
MAX_LINES = 256


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


class Batched(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes its lines in batches: at once from `flush_level` up (the
    buffered lines first, so the order stays), when `max_lines` wait, and otherwise within
    `flush_seconds` (a daemon thread per process; a forked child drops its parent's unwritten
    lines, which the parent still writes) and at exit."""

    def __init__(self, stream=None, *, flush_seconds: float = FLUSH_SECONDS,  # type: ignore[no-untyped-def]
                 max_lines: int = MAX_LINES, flush_level: int = logging.WARNING) -> None:
        super().__init__(stream)
        self.flush_seconds, self.max_lines, self.flush_level = flush_seconds, max_lines, flush_level
        self._lines: list[str] = []
        self._pid = 0  # the process whose flusher runs
        atexit.register(self.flush)
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._lines, self._pid = [], 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:  # noqa: BLE001 - logging's own contract: report, never raise
            self.handleError(record)
            return
        self._lines.append(line)  # under the handler's lock (Handler.handle)
        if record.levelno >= self.flush_level or len(self._lines) >= self.max_lines:
            self._write()
        elif self._pid != os.getpid():
            self._pid = os.getpid()
            threading.Thread(target=self._flusher, name="log-flusher", daemon=True).start()

    def _write(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except Exception:  # noqa: BLE001 - a closed or full stream loses lines, not requests
                pass

    def flush(self) -> None:
        self.acquire()
        try:
            self._write()
        finally:
            self.release()

    def _flusher(self) -> None:
        pid = os.getpid()
        while self._pid == pid:
            time.sleep(self.flush_seconds)
            if self._lines:
                self.flush()


def configure(service: str, *, level: int = logging.INFO) -> None:
    """Every log line of this process as JSON on stderr, as `service`. Idempotent."""
    if _configured:
        return
    _configured.append(service)
    handler = Batched(sys.stderr)
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
    handler = {"class": f"{__name__}.Batched", "formatter": "json", "stream": "ext://sys.stderr"}
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
