"""`python -m local trace TRACE_ID`: the log lines of one trace, from every process of the
platform (the front door, the functions, the broker, the runtime, the ingest sidecar), in
time order. Each function's request line is its span: its duration, status and route.

A trace id comes from a `traceparent` a client sent, from the front door's access log, or
from any log line of the function where something went missing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def lines_of(home: Path, trace_id: str) -> list[dict]:
    """Every JSON log line under `home` (the profile's directory) with this trace id, oldest
    first."""
    found = [line for path in sorted(home.rglob("*.log")) for line in _read(path, trace_id)]
    return sorted(found, key=_when)


def _when(line: dict) -> datetime:
    try:
        return datetime.fromisoformat(str(line.get("time")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _read(path: Path, trace_id: str) -> Iterator[dict]:
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            for text in file:
                if trace_id not in text:
                    continue
                try:
                    line = json.loads(text)
                except ValueError:
                    continue
                if isinstance(line, dict) and line.get("trace_id") == trace_id:
                    yield line
    except OSError:
        return


def render(line: dict) -> str:
    """One line for a terminal: when, where, what (and for a request its status and time)."""
    when = _when(line).strftime("%H:%M:%S.%f")[:-3]
    where = f"{line.get('service', '?')}"
    what = str(line.get("message", ""))
    if line.get("duration_ms") is not None:
        what += f"  ({line['duration_ms']} ms)"
    if line.get("level") not in (None, "info"):
        what = f"{str(line['level']).upper()} {what}"
    return f"{when}  {where:28s} {what}"


def main(home: Path, trace_id: str) -> int:
    trace_id = trace_id.strip().lower()
    if not TRACE_ID.match(trace_id):
        print(f"not a trace id (32 hex digits): {trace_id!r}")
        return 2
    found = lines_of(home, trace_id)
    if not found:
        print(f"no log line of trace {trace_id} under {home}")
        return 1
    for line in found:
        print(render(line))
    return 0
