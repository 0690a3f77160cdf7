"""The sidecar's events: spooled on the media volume before they are sent, sent in order,
retried until the broker takes them, so a broker outage or a sidecar restart loses none."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Send = Callable[[dict[str, str], Any], bool]


class EventSender:
    """Sends events to K_SINK from a background thread; nginx's callback is answered at once.

    Each event is first written to the spool (one file per event, on the media volume) and
    deleted only once the broker accepted it, so a broker outage or a restart of the sidecar
    loses nothing: a new sidecar sends what its spool holds. Retries keep the event id, so
    the consumers' idempotency absorbs any duplicate."""

    def __init__(self, spool: Path | None = None, send: Send | None = None) -> None:
        self.spool = spool
        self._send = send  # (headers, data) -> accepted; shared_lib.events.sending.send by default
        self._queue: queue.Queue = queue.Queue()
        if spool is not None:
            spool.mkdir(parents=True, exist_ok=True)
            for path in sorted(spool.glob("*.json")):
                self._queue.put(path)
        threading.Thread(target=self._run, name="events", daemon=True).start()

    def emit(self, *, type: str, source: str, subject: str, data: dict) -> None:
        from shared_lib.events.sending import binary_headers

        headers = binary_headers(type=type, source=source, subject=subject)
        if self.spool is None:
            self._queue.put((headers, data))
            return
        # Named by time, so a new sidecar sends them in the order they happened.
        path = self.spool / f"{time.time_ns():020d}-{headers['ce-id']}.json"
        partial = path.with_suffix(".part")
        partial.write_text(json.dumps({"headers": headers, "data": data}))
        os.replace(partial, path)
        self._queue.put(path)

    def _run(self) -> None:
        if self._send is None:
            from shared_lib.events.sending import send

            self._send = send
        while True:
            item = self._queue.get()
            try:
                if isinstance(item, Path):
                    stored = json.loads(item.read_text())
                    headers, data = stored["headers"], stored["data"]
                else:
                    headers, data = item
            except (OSError, ValueError):
                self._queue.task_done()
                continue
            delay = 0.2
            while not self._send(headers, data):
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
            if isinstance(item, Path):
                item.unlink(missing_ok=True)
            self._queue.task_done()

    def drain(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
