"""Data access: a generic Repository[T] and the domain queries built on it.

Repositories return models or None and never raise HTTP errors; turning "not there" into a
404 is the caller's choice. Each has an abstract base so unit tests can use in-memory fakes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared_lib.repositories.analytics import SqlAnalyticsRepository
from shared_lib.repositories.base import Repository, SqlRepository
from shared_lib.repositories.events import (
    EventLog,
    SqlDeadLetterRepository,
    SqlEventLog,
    SqlOutboxRepository,
)
from shared_lib.repositories.notifications import (
    SqlNotificationRepository,
    SqlWebhookRepository,
)
from shared_lib.repositories.relationships import (
    RelationshipRepository,
    SqlRelationshipRepository,
)
from shared_lib.repositories.streams import SqlRecordingRepository, SqlStreamRepository
from shared_lib.repositories.tokens import (
    RefreshTokenRepository,
    RevokedTokenRepository,
    SqlRefreshTokenRepository,
    SqlRevokedTokenRepository,
)
from shared_lib.repositories.users import SqlUserRepository, UserRepository

__all__ = [
    "EventLog", "RefreshTokenRepository", "RelationshipRepository", "Repository",
    "RevokedTokenRepository", "SqlRepository", "UserRepository", "bind_repositories",
]


def bind_repositories(uow: Any, session: Session) -> None:
    """Give a unit of work its repositories, all on the one session."""
    uow.users = SqlUserRepository(session)
    uow.relationships = SqlRelationshipRepository(session)
    uow.streams = SqlStreamRepository(session)
    uow.recordings = SqlRecordingRepository(session)
    uow.analytics = SqlAnalyticsRepository(session)
    uow.refresh_tokens = SqlRefreshTokenRepository(session)
    uow.revoked_tokens = SqlRevokedTokenRepository(session)
    uow.events = SqlEventLog(session)
    uow.dead_letters = SqlDeadLetterRepository(session)
    uow.outbox = SqlOutboxRepository(session)
    uow.notifications = SqlNotificationRepository(session)
    uow.webhooks = SqlWebhookRepository(session)
