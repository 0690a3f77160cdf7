"""How this process's connections to PostgreSQL are made and kept: TLS as libpq's sslmode
says, with one context for all of them, and a ping before reusing one that sat idle."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

# A pooled connection idle longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


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
