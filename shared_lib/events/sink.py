"""The connections an event travels to K_SINK on: one kept alive per thread (http.client).

Every event a function announces is one POST to the broker, so this is on the path of every
change that emits one. httpx cost each send about a millisecond of CPU, and under a
function's sixteen threads they queued at its connection pool's lock. A thread here sends
on its own connection, without a lock, and keeps it for the next event. A connection the
broker closed while it was idle fails at once when reused: the event goes again, once, on
a new connection (a repeat is harmless: consumers ignore an event id they have seen).
"""

from __future__ import annotations

import functools
import http.client
import os
import ssl
import threading
from urllib.parse import urlsplit

# What a reused connection the other side closed while idle raises on its next request.
STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Sink:
    """POSTs to one http(s) URL; `post` answers the status, or raises OSError or
    http.client.HTTPException when no answer came."""

    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._local = threading.local()

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        while True:
            connection, reused = self._connection()
            try:
                connection.request("POST", self._target, body=body, headers=headers)
                response = connection.getresponse()
                response.read()  # the connection is ready for the next request only then
            except STALE:
                self._forget()
                if reused:
                    continue
                raise
            except (OSError, http.client.HTTPException):
                self._forget()
                raise
            if response.will_close:
                self._forget()
            else:
                self._local.used = True
            return response.status

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # none yet, or the parent's before a fork
            local.pid, local.used = os.getpid(), False
            if self._https:
                local.connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout,
                    context=ssl.create_default_context())
            else:
                local.connection = http.client.HTTPConnection(self._host, self._port,
                                                              timeout=self._timeout)
        return local.connection, local.used

    def _forget(self) -> None:
        self._local.connection.close()
        self._local.pid = None


@functools.lru_cache(maxsize=4)
def sink(url: str, timeout: float) -> Sink:
    """The process's Sink for `url` (K_SINK; a changed K_SINK gets its own)."""
    return Sink(url, timeout=timeout)
