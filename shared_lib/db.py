"""The one shared DbContext: the tables' declarative base, a lazily built engine, its
session factory, and the unit of work (the generic repository is in repositories.py).

A Knative pod serves a handful of concurrent requests, so the pool is small (settings) and
pre-pinged, which keeps a PgBouncer or a restarted PostgreSQL from handing out dead
connections. Nothing connects at import time. The tables themselves are declared in each
domain's `models.py` and only ever change through a migration in shared_lib/migrations.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import (
    DateTime,
    Engine,
    ForeignKey,
    create_engine,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from shared_lib.config import get_settings
from shared_lib.connections import LingeringPool, ping_when_idle, ssl_context
from shared_lib.errors import DependencyUnavailable, StreamfnError

if TYPE_CHECKING:

    from shared_lib.accounts.repository import (
        SqlRefreshTokenRepository,
        SqlRevokedTokenRepository,
        SqlUserRepository,
    )
    from shared_lib.analytics.repository import SqlAnalyticsRepository
    from shared_lib.chat.repository import SqlChatRepository
    from shared_lib.clips.repository import SqlClipRepository
    from shared_lib.events.models import OutboxEvent
    from shared_lib.events.repository import SqlDeadLetterRepository, SqlEventLog, SqlOutboxRepository
    from shared_lib.follows.repository import SqlFollowRepository
    from shared_lib.notifications.repository import SqlNotificationRepository
    from shared_lib.recordings.repository import SqlRecordingRepository
    from shared_lib.streams.repository import SqlStreamRepository
    from shared_lib.webhooks.repository import SqlWebhookRepository


class Base(DeclarativeBase):
    # Fetch server defaults (created_at, counters) with RETURNING at insert time, so a
    # new row can be answered without a second query.
    __mapper_args__ = {"eager_defaults": True}


def now_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def user_column(*, primary_key: bool = False) -> Mapped[uuid.UUID]:
    """A reference to a user, gone with the user. (Importing the users table with it: a
    flush sorts every mapped table by its foreign keys, so a table must never be mapped
    before the tables it names; the repositories load their domains' tables lazily.)"""
    import shared_lib.accounts.models  # noqa: F401 - registers `users` (a no-op inside it)

    return mapped_column(UUID, ForeignKey("users.id", ondelete="CASCADE"),
                         primary_key=primary_key, nullable=False)


@functools.cache
def get_engine(*, autocommit: bool = False) -> Engine:
    """The process's engine; with `autocommit`, one whose every statement is its own
    transaction, in one round trip (for a process that writes one row at a time)."""
    from shared_lib.pgwire import engine_url

    settings = get_settings()
    engine = create_engine(
        engine_url(settings.database_url.get_secret_value()),
        prepared_statements=settings.database_prepared_statements,
        poolclass=LingeringPool,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_recycle=300,
        connect_args={"timeout": 5, "ssl_context": ssl_context(settings.database_sslmode)},
        # Error messages must not carry bound values into logs: they include password and
        # token hashes.
        hide_parameters=True,
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
    )
    ping_when_idle(engine)
    return engine


def batch_engine(*, timeout_seconds: int = 900) -> Engine:
    """An engine for long set-based jobs (recomputes): no pool, and a socket timeout long
    enough for a statement that runs for minutes. Request paths keep get_engine()'s 5 s."""
    from sqlalchemy.pool import NullPool

    from shared_lib.pgwire import engine_url

    settings = get_settings()
    return create_engine(engine_url(settings.database_url.get_secret_value()), poolclass=NullPool,
                         prepared_statements=settings.database_prepared_statements,
                         connect_args={"timeout": timeout_seconds,
                                       "ssl_context": ssl_context(settings.database_sslmode)},
                         hide_parameters=True)


@functools.cache
def get_session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


_REPOSITORIES = ("users", "follows", "streams", "recordings", "analytics", "refresh_tokens",
                 "revoked_tokens", "events", "dead_letters", "outbox", "notifications", "webhooks",
                 "chat", "clips")


class UnitOfWork:
    """One transaction, and the events it announces. Rolls back unless `commit()` was called
    inside the `with` block; after a commit, sends the events recorded in it (cosmicpython's
    `collect_new_events`), so domain code records an event and never sends one itself.

        with UnitOfWork() as uow:
            follows.set_following(uow, ...)   # changes rows, records USER_FOLLOWED
            uow.commit()                      # commits both, then sends the event

    HTTP and event functions get one from their decorator, which commits it when the handler
    returns. Its repositories, all on the one session, are typed properties made on first use.
    """

    session: Session

    def __init__(self, session_factory: sessionmaker[Session] | None = None) -> None:
        self._session_factory = session_factory
        self.recorded: list[OutboxEvent] = []
        self._after_commit: list[Callable[[], None]] = []

    def __enter__(self) -> UnitOfWork:
        self.session = (self._session_factory or get_session_factory())()
        for name in _REPOSITORIES:  # a new session: repositories made again when first used
            self.__dict__.pop(name, None)
        self.recorded, self._after_commit = [], []
        return self

    # Each repository is made when first used, importing only its own domain's tables: a
    # function that reads users does not pay, on its cold start, for mapping chat and clips.

    @functools.cached_property
    def users(self) -> SqlUserRepository:
        from shared_lib.accounts.repository import SqlUserRepository

        return SqlUserRepository(self.session)

    @functools.cached_property
    def follows(self) -> SqlFollowRepository:
        from shared_lib.follows.repository import SqlFollowRepository

        return SqlFollowRepository(self.session)

    @functools.cached_property
    def streams(self) -> SqlStreamRepository:
        from shared_lib.streams.repository import SqlStreamRepository

        return SqlStreamRepository(self.session)

    @functools.cached_property
    def recordings(self) -> SqlRecordingRepository:
        from shared_lib.recordings.repository import SqlRecordingRepository

        return SqlRecordingRepository(self.session)

    @functools.cached_property
    def analytics(self) -> SqlAnalyticsRepository:
        from shared_lib.analytics.repository import SqlAnalyticsRepository

        return SqlAnalyticsRepository(self.session)

    @functools.cached_property
    def refresh_tokens(self) -> SqlRefreshTokenRepository:
        from shared_lib.accounts.repository import SqlRefreshTokenRepository

        return SqlRefreshTokenRepository(self.session)

    @functools.cached_property
    def revoked_tokens(self) -> SqlRevokedTokenRepository:
        from shared_lib.accounts.repository import SqlRevokedTokenRepository

        return SqlRevokedTokenRepository(self.session)

    @functools.cached_property
    def events(self) -> SqlEventLog:
        from shared_lib.events.repository import SqlEventLog

        return SqlEventLog(self.session)

    @functools.cached_property
    def dead_letters(self) -> SqlDeadLetterRepository:
        from shared_lib.events.repository import SqlDeadLetterRepository

        return SqlDeadLetterRepository(self.session)

    @functools.cached_property
    def outbox(self) -> SqlOutboxRepository:
        from shared_lib.events.repository import SqlOutboxRepository

        return SqlOutboxRepository(self.session)

    @functools.cached_property
    def notifications(self) -> SqlNotificationRepository:
        from shared_lib.notifications.repository import SqlNotificationRepository

        return SqlNotificationRepository(self.session)

    @functools.cached_property
    def webhooks(self) -> SqlWebhookRepository:
        from shared_lib.webhooks.repository import SqlWebhookRepository

        return SqlWebhookRepository(self.session)

    @functools.cached_property
    def chat(self) -> SqlChatRepository:
        from shared_lib.chat.repository import SqlChatRepository

        return SqlChatRepository(self.session)

    @functools.cached_property
    def clips(self) -> SqlClipRepository:
        from shared_lib.clips.repository import SqlClipRepository

        return SqlClipRepository(self.session)

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
        self.recorded, self._after_commit = [], []
        if isinstance(exc, (OperationalError, DBAPIError)) and _is_connection_error(exc):
            raise DependencyUnavailable("The database is unavailable. Try again shortly.") from exc

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once this transaction has committed (never if it rolls back): what
        must follow the truth, such as a Redis copy of it."""
        self._after_commit.append(action)

    def commit(self, *, send: bool = True) -> list[OutboxEvent]:
        """Commit, run the after-commit actions, then send what was recorded (what a failed
        send leaves in the outbox, the relay-outbox schedule sends later). With `send=False`
        the committed events are the caller's to send: the handler pipeline sends them once
        its answer has gone out, so no caller waits on the broker."""
        self.session.commit()
        recorded, self.recorded = self.recorded, []
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            action()
        if recorded and send:
            from shared_lib.events.outbox import deliver

            deliver(recorded)
        return recorded

    def rollback(self) -> None:
        self.session.rollback()
        self.recorded, self._after_commit = [], []


# SQLSTATEs of a server that cannot take the connection or the work now: connection
# exceptions (08), insufficient resources (53: "too many clients already"), starting up or
# shutting down (57P03). A 503 the caller retries, not a 500.
UNAVAILABLE_STATES = ("08", "53", "57P03")


def _is_connection_error(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    import pg8000

    if isinstance(exc.orig, (pg8000.InterfaceError, ConnectionError, OSError)):
        return True
    state = sqlstate(exc)
    return state is not None and state.startswith(UNAVAILABLE_STATES)


def sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE PostgreSQL answered with (pg8000 carries it in its error's fields)."""
    details = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
    state = details.get("C") if isinstance(details, dict) else None
    return state if isinstance(state, str) else None
