"""A short shared cache of public answers: what the home page and the stream page ask for
thousands of times a second, computed once a second per process.

A function declares `cache=Cached(seconds, version_key)`, and is served async (aio.py): a
kept answer goes out from the event loop, and the handler computes the others in a thread.
Its 200 answers to GET are kept in the process by the exact path and query string for
`seconds`, and sent with
`Cache-Control: public, max-age=<seconds>` so the front door (or a CDN in a cluster) may keep
them as long. Each entry remembers the version it was computed under: a Redis counter that
the owner's change bumps once it commits.

An anonymous request takes an entry younger than `seconds` as it is, with no round trip to
Redis: the front door and a CDN serve it the same answer for as long, so live state (viewer
counts, status) and anyone's edit show within `seconds`. A request with a token, which no
shared cache serves, takes only an entry computed under the version now, so an owner's edit
shows on their very next request, whichever process answers it. Without Redis the cache
steps aside for new answers and every request is computed.

When an answer expires, one request computes the next: the anonymous requests that arrive
meanwhile take the answer it replaces (for at most `seconds` more), rather than every
thread of the process running the same query at once, each second.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

MAX_ENTRIES = 1000
# How long one request has to compute an expired answer before another may take over.
REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class Cached:
    seconds: int
    version_key: str

    @property
    def header(self) -> str:
        return f"public, max-age={self.seconds}"


@dataclass(frozen=True)
class _Entry:
    expires: float
    version: str
    body: bytes


class Answers:
    """One function's kept answers, by key (the path and query string)."""

    def __init__(self, policy: Cached) -> None:
        self.policy = policy
        self._entries: dict[str, _Entry] = {}
        self._refreshing: dict[str, float] = {}  # key -> until when its recompute is awaited

    async def version(self) -> str | None:
        """The version now, or None (no cache) when Redis cannot say."""
        from shared_lib.cache import async_redis

        try:
            return str(await async_redis().get(self.policy.version_key) or "0")
        except Exception:  # noqa: BLE001 - without Redis, compute every answer
            return None

    def young(self, key: str, *, anonymous: bool) -> bytes | None:
        """What an anonymous request takes with no round trip: an answer younger than the
        policy's seconds, or the one a recompute in flight replaces (for as long again)."""
        entry, now = self._entries.get(key), time.monotonic()
        if anonymous and entry is not None and (entry.expires > now or (
                self._refreshing.get(key, 0.0) > now and entry.expires + self.policy.seconds > now)):
            return entry.body
        return None

    def current(self, key: str, version: str) -> bytes | None:
        """The kept answer if it is young and of `version`; else None, and the caller
        computes the next (the others wait on it, `young`)."""
        entry, now = self._entries.get(key), time.monotonic()
        if entry is not None and entry.version == version and entry.expires > now:
            return entry.body
        if entry is not None:
            self._refreshing[key] = now + REFRESH_SECONDS
        return None

    def put(self, key: str, version: str, status: int, body: bytes) -> dict[str, str]:
        """Keep a computed answer if it is a 200; the headers it is sent with."""
        self._refreshing.pop(key, None)
        if status != 200:
            return {}
        if len(self._entries) >= MAX_ENTRIES:
            now = time.monotonic()
            self._entries = {k: e for k, e in self._entries.items() if e.expires > now}
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._refreshing = {k: t for k, t in self._refreshing.items() if k in self._entries}
        self._entries[key] = _Entry(time.monotonic() + self.policy.seconds, version, body)
        return {"Cache-Control": self.policy.header}


def bump(version_key: str) -> None:
    """The owner changed something a cached answer shows: every process recomputes. (Redis
    down: no process can read the version either, so none answers from its cache.)"""
    from shared_lib.cache import get_redis

    try:
        get_redis().incr(version_key)
    except Exception:  # noqa: BLE001 - the change is committed; the caches step aside
        logging.getLogger(__name__).warning("could not bump %s", version_key)
