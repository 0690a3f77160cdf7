"""How this process's connections to PostgreSQL are made and kept: TLS as libpq's sslmode
says, with one context for all of them, a ping before reusing one that sat idle, and a pool
that keeps the connections a burst opened until the burst is over."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy.pool import QueuePool

if TYPE_CHECKING:
    from sqlalchemy import Engine

# A pooled connection idle longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0
# The connections past `pool_size` are closed once no more than that many were needed for so long.
LINGER_SECONDS = 30.0


class LingeringPool(QueuePool):
    """SQLAlchemy's QueuePool, but a connection opened past `pool_size` (up to `max_overflow`
    more) goes back to the pool instead of being closed, until demand has stayed at or under
    `pool_size` for `linger` seconds; after that, each one returned beyond `pool_size` idle
    ones is closed. QueuePool closes it at once, so with more threads than connections
    nearly every checkout past `pool_size` opened a new one (a backend forked, a SCRAM
    handshake on both sides, every statement prepared again): a third of all requests did,
    sixteen follows at a time. A process that goes quiet right after a burst keeps them
    until its next requests, or until it scales to zero."""

    def __init__(self, creator: Any, pool_size: int = 5, max_overflow: int = 10,
                 linger: float = LINGER_SECONDS, **kw: Any) -> None:
        super().__init__(creator, pool_size=pool_size + max_overflow, max_overflow=0, **kw)
        self._kept, self._extra, self._linger = pool_size, max_overflow, linger
        self._needed_at = float("-inf")  # when more than `pool_size` were last out at once

    def _do_get(self) -> Any:
        record = super()._do_get()
        if self.checkedout() > self._kept:
            self._needed_at = time.monotonic()
        return record

    def _do_return_conn(self, record: Any) -> None:
        if (self._pool.qsize() >= self._kept
                and time.monotonic() - self._needed_at > self._linger):
            try:
                record.close()
            finally:
                self._dec_overflow()
            return
        super()._do_return_conn(record)

    def recreate(self) -> LingeringPool:
        return self.__class__(
            self._creator, pool_size=self._kept, max_overflow=self._extra, linger=self._linger,
            pre_ping=self._pre_ping, use_lifo=self._pool.use_lifo, timeout=self._timeout,
            recycle=self._recycle, echo=self.echo, logging_name=self._orig_logging_name,
            reset_on_return=self._reset_on_return, _dispatch=self.dispatch,
            dialect=self._dialect)


@functools.cache
def ssl_context(mode: str) -> Any:
    """What pg8000 takes as `ssl_context` for a libpq sslmode: False (no TLS), None (its own
    "prefer"), or one context for every connection of the process (TLS required)."""
    if mode == "disable":
        return False
    if mode == "prefer":
        return None
    import ssl

    context = ssl.create_default_context()
    if mode == "require":  # encrypted, not authenticated: libpq's require
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def ping_when_idle(engine: Engine, *, after_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """SQLAlchemy's pre-ping for the connections that need it: one that went back to the pool
    less than `after_seconds` ago is handed out as it is (under load every request saved a
    round trip to PostgreSQL), one idle longer is pinged first and replaced if it is gone
    (PostgreSQL or PgBouncer restarted, or closed it)."""
    from sqlalchemy import event
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("checked_in")
        if since is None or time.monotonic() - since < after_seconds:
            return  # new, or in use a moment ago
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as exc:  # whatever the driver says of a dead connection
            record.info.pop("checked_in", None)
            raise DisconnectionError() from exc  # the pool replaces it and tries again
