"""A Server-Sent Events reader for tests: it listens in a thread and keeps what arrives."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Event:
    id: str
    event: str
    data: dict


class Listener:
    """Reads `url` as an event stream until closed; `events` fills as they arrive."""

    def __init__(self, url: str, *, last_event_id: str | None = None) -> None:
        self.url, self.events, self.status = url, [], None
        self.headers = {"Accept": "text/event-stream"}
        if last_event_id:
            self.headers["Last-Event-ID"] = last_event_id
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self._target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.opened = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self.opened.wait(15), f"{url} did not answer"

    def _read(self) -> None:
        try:
            self._connection.request("GET", self._target, headers=self.headers)
            response = self._connection.getresponse()
            self.status = response.status
            self.opened.set()
            block: dict[str, str] = {}
            while line := response.readline():
                line = line.decode().rstrip("\r\n")
                if line:
                    field, _, value = line.partition(":")
                    block[field] = value.removeprefix(" ")
                    continue
                if "data" in block:
                    self.events.append(Event(block.get("id", ""), block.get("event", "message"),
                                             json.loads(block["data"])))
                block = {}
        except (OSError, http.client.HTTPException, ValueError):
            pass
        finally:
            self.opened.set()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.events)

    def close(self) -> None:
        """Hang up, as a closed browser tab does."""
        if self._connection.sock is not None:
            try:
                self._connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)
        self._connection.close()
