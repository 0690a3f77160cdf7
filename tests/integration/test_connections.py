"""Pooled connections to the real PostgreSQL: one PostgreSQL closed while it sat idle is
replaced before a request gets it, so the request never sees the dead one."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, text

from shared_lib.config import get_settings
from shared_lib.connections import ping_when_idle


def pooled_engine():
    engine = create_engine(get_settings().database_url.get_secret_value(), pool_size=1, max_overflow=0)
    ping_when_idle(engine, after_seconds=0.2)
    return engine


def test_a_connection_closed_while_idle_is_replaced_before_it_is_used():
    engine, killer = pooled_engine(), pooled_engine()
    try:
        with engine.connect() as connection:
            first = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with killer.connect() as connection:  # as a PostgreSQL restart or an idle timeout would
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar()
        time.sleep(0.3)
        with engine.connect() as connection:
            second = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        assert second != first, "a new connection took the dead one's place"
    finally:
        engine.dispose()
        killer.dispose()


def test_a_connection_back_a_moment_ago_is_handed_out_as_it_is():
    engine = pooled_engine()
    try:
        pids = []
        for _ in range(3):
            with engine.connect() as connection:
                pids.append(connection.execute(text("SELECT pg_backend_pid()")).scalar())
        assert len(set(pids)) == 1, "one connection served every request in turn"
    finally:
        engine.dispose()
