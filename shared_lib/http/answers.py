"""A short shared cache of public answers: what the home page and the stream page ask for
thousands of times a second, computed once a second per process.

A function declares `cache=Cached(seconds, version_key)`. Its 200 answers to GET are kept in
the process by the exact path and query string for `seconds`, and sent with
`Cache-Control: public, max-age=<seconds>` so the front door (or a CDN in a cluster) may keep
them as long. Each entry remembers the version it was computed under: a Redis counter that
the owner's change bumps once it commits.

An anonymous request takes an entry younger than `seconds` as it is, with no round trip to
Redis: the front door and a CDN serve it the same answer for as long, so live state (viewer
counts, status) and anyone's edit show within `seconds`. A request with a token, which no
shared cache serves, takes only an entry computed under the version now, so an owner's edit
shows on their very next request, whichever process answers it. Without Redis the cache
steps aside for new answers and every request is computed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import flask

MAX_ENTRIES = 1000


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
    def __init__(self, policy: Cached) -> None:
        self.policy = policy
        self._entries: dict[str, _Entry] = {}

    def version(self) -> str | None:
        """The version now, or None (no cache) when Redis cannot say."""
        from shared_lib.cache import get_redis

        try:
            return str(get_redis().get(self.policy.version_key) or "0")
        except Exception:  # noqa: BLE001 - without Redis, compute every answer
            return None

    def lookup(self, key: str, *, anonymous: bool) -> tuple[flask.Response | None, str | None]:
        """The kept answer for `key`, or None and the version to keep a fresh one under
        (None: Redis cannot say, keep nothing)."""
        entry = self._entries.get(key)
        if anonymous and entry is not None and entry.expires > time.monotonic():
            return self.response(entry.body), entry.version
        version = self.version()
        cached = self.get(key, version) if version is not None else None
        return cached, version

    def get(self, key: str, version: str) -> flask.Response | None:
        entry = self._entries.get(key)
        if entry is None or entry.version != version or entry.expires <= time.monotonic():
            return None
        return self.response(entry.body)

    def put(self, key: str, version: str, response: flask.Response) -> flask.Response:
        if response.status_code == 200:
            if len(self._entries) >= MAX_ENTRIES:
                now = time.monotonic()
                self._entries = {k: e for k, e in self._entries.items() if e.expires > now}
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
            self._entries[key] = _Entry(time.monotonic() + self.policy.seconds, version,
                                        response.get_data())
            response.headers["Cache-Control"] = self.policy.header
        return response

    def response(self, body: bytes) -> flask.Response:
        import flask

        return flask.Response(body, status=200, headers={"Cache-Control": self.policy.header},
                              content_type="application/json")


def bump(version_key: str) -> None:
    """The owner changed something a cached answer shows: every process recomputes. (Redis
    down: no process can read the version either, so none answers from its cache.)"""
    from shared_lib.cache import get_redis

    try:
        get_redis().incr(version_key)
    except Exception:  # noqa: BLE001 - the change is committed; the caches step aside
        logging.getLogger(__name__).warning("could not bump %s", version_key)
