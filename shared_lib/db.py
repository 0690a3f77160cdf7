"""The one shared DbContext: a lazily built engine, its session factory, and the unit of work.

A Knative pod serves a handful of concurrent requests, so the pool is small (settings) and
pre-pinged, which keeps a PgBouncer or a restarted PostgreSQL from handing out dead
connections. Nothing connects at import time.
"""

from __future__ import annotations

import functools
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shared_lib.config import get_settings

if TYPE_CHECKING:
    from shared_lib.repositories.analytics import SqlAnalyticsRepository
    from shared_lib.repositories.events import SqlDeadLetterRepository, SqlEventLog, SqlOutboxRepository
    from shared_lib.repositories.notifications import SqlNotificationRepository, SqlWebhookRepository
    from shared_lib.repositories.relationships import SqlRelationshipRepository
    from shared_lib.repositories.streams import SqlRecordingRepository, SqlStreamRepository
    from shared_lib.repositories.tokens import SqlRefreshTokenRepository, SqlRevokedTokenRepository
    from shared_lib.repositories.users import SqlUserRepository
from shared_lib.errors import DependencyUnavailable, StreamfnError


@functools.cache
def get_engine() -> Engine:
    settings = get_settings()
    return create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_pre_ping=True,
        pool_recycle=300,
        connect_args={"timeout": 5},
        # Error messages must not carry bound values into logs: they include password and
        # token hashes.
        hide_parameters=True,
    )


def batch_engine(*, timeout_seconds: int = 900) -> Engine:
    """An engine for long set-based jobs (recomputes): no pool, and a socket timeout long
    enough for a statement that runs for minutes. Request paths keep get_engine()'s 5 s."""
    from sqlalchemy.pool import NullPool

    return create_engine(get_settings().database_url, poolclass=NullPool,
                         connect_args={"timeout": timeout_seconds}, hide_parameters=True)


@functools.cache
def get_session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


class UnitOfWork:
    """One transaction. Rolls back unless `commit()` was called inside the `with` block.

        with UnitOfWork() as uow:
            uow.users.add(user)
            uow.commit()

    Its repositories, all on the one session, are declared here (for the type checker) and
    made in `__enter__` (so importing this module stays cheap for a cold start).
    """

    session: Session
    users: SqlUserRepository
    relationships: SqlRelationshipRepository
    streams: SqlStreamRepository
    recordings: SqlRecordingRepository
    analytics: SqlAnalyticsRepository
    refresh_tokens: SqlRefreshTokenRepository
    revoked_tokens: SqlRevokedTokenRepository
    events: SqlEventLog
    dead_letters: SqlDeadLetterRepository
    outbox: SqlOutboxRepository
    notifications: SqlNotificationRepository
    webhooks: SqlWebhookRepository

    def __init__(self, session_factory: sessionmaker[Session] | None = None) -> None:
        self._session_factory = session_factory

    def __enter__(self) -> UnitOfWork:
        from shared_lib.repositories import bind_repositories

        factory = self._session_factory or get_session_factory()
        self.session = factory()
        bind_repositories(self, self.session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None and not isinstance(exc, StreamfnError) and self.session.in_transaction():
            # An error other than the domain's may have struck mid-statement, inside the
            # driver (a value it could not encode): the connection may be out of protocol
            # sync, so it never goes back to the pool.
            try:
                self.session.connection().invalidate()
            except Exception:  # noqa: BLE001 - it is being thrown away either way
                pass
        # close() rolls back whatever was not committed and detaches the loaded objects
        # without expiring them, so a handler can still read them after the block.
        self.session.close()
        if isinstance(exc, (OperationalError, DBAPIError)) and _is_connection_error(exc):
            raise DependencyUnavailable("The database is unavailable. Try again shortly.") from exc

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


def _is_connection_error(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    import pg8000

    return isinstance(exc.orig, (pg8000.InterfaceError, ConnectionError, OSError))
