"""Data access: a generic Repository[T] and the domain queries built on it.

Repositories return models or None and never raise HTTP errors; turning "not there" into a
404 is the caller's choice. Each has an abstract base so unit tests can use in-memory fakes.
"""

from __future__ import annotations

import abc
import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared_lib.models import Base, DeadLetter, LiveStream, ProcessedEvent, RefreshToken, RevokedAccessToken, User

T = TypeVar("T", bound=Base)


class Repository(abc.ABC, Generic[T]):
    """What every repository offers: add, and get by primary key."""

    @abc.abstractmethod
    def add(self, item: T) -> T: ...

    @abc.abstractmethod
    def get(self, key: Any) -> T | None: ...


class SqlRepository(Repository[T]):
    model: type[T]

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, item: T) -> T:
        self.session.add(item)
        self.session.flush()
        return item

    def get(self, key: Any) -> T | None:
        return self.session.get(self.model, key)


class UserRepository(Repository[User]):
    @abc.abstractmethod
    def get_by_username(self, username: str) -> User | None: ...

    @abc.abstractmethod
    def get_by_email(self, email: str) -> User | None: ...

    @abc.abstractmethod
    def is_live(self, user_id: uuid.UUID) -> bool: ...


class SqlUserRepository(SqlRepository[User], UserRepository):
    model = User

    def get_by_username(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(func.lower(User.username) == username.lower()))

    def get_by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(func.lower(User.email) == email.lower()))

    def is_live(self, user_id: uuid.UUID) -> bool:
        query = select(LiveStream.id).where(
            LiveStream.user_id == user_id, LiveStream.status == "live"
        )
        return self.session.scalar(query.limit(1)) is not None


class RefreshTokenRepository(Repository[RefreshToken]):
    @abc.abstractmethod
    def get_by_hash_for_update(self, token_hash: str) -> RefreshToken | None:
        """The token row, locked so two concurrent uses of one token serialize."""

    @abc.abstractmethod
    def revoke_family(self, family_id: uuid.UUID, *, at: datetime) -> None: ...

    @abc.abstractmethod
    def family_revoked(self, family_id: uuid.UUID) -> bool: ...

    @abc.abstractmethod
    def revoked_families_since(self, *, seconds: int) -> list[uuid.UUID]: ...


class SqlRefreshTokenRepository(SqlRepository[RefreshToken], RefreshTokenRepository):
    model = RefreshToken

    def get_by_hash_for_update(self, token_hash: str) -> RefreshToken | None:
        query = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        return self.session.scalar(query)

    def revoke_family(self, family_id: uuid.UUID, *, at: datetime) -> None:
        self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    def family_revoked(self, family_id: uuid.UUID) -> bool:
        query = select(RefreshToken.id).where(
            RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_not(None)
        )
        return self.session.scalar(query.limit(1)) is not None

    def revoked_families_since(self, *, seconds: int) -> list[uuid.UUID]:
        since = func.now() - text(f"interval '{int(seconds)} seconds'")
        query = select(RefreshToken.family_id).where(RefreshToken.revoked_at > since).distinct()
        return list(self.session.scalars(query))


class RevokedTokenRepository(abc.ABC):
    @abc.abstractmethod
    def revoke(self, jti: str, *, expires_at: datetime) -> None: ...

    @abc.abstractmethod
    def is_revoked(self, jti: str) -> bool: ...

    @abc.abstractmethod
    def live(self) -> list[tuple[str, datetime]]:
        """(jti, expires_at) of every revoked token not yet expired."""


class SqlRevokedTokenRepository(RevokedTokenRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def revoke(self, jti: str, *, expires_at: datetime) -> None:
        statement = insert(RevokedAccessToken).values(jti=jti, expires_at=expires_at)
        self.session.execute(statement.on_conflict_do_nothing())

    def is_revoked(self, jti: str) -> bool:
        return self.session.get(RevokedAccessToken, jti) is not None

    def live(self) -> list[tuple[str, datetime]]:
        query = select(RevokedAccessToken.jti, RevokedAccessToken.expires_at).where(
            RevokedAccessToken.expires_at > func.now()
        )
        return [tuple(row) for row in self.session.execute(query)]


class EventLog(abc.ABC):
    @abc.abstractmethod
    def claim(self, *, consumer: str, source: str, event_id: str, event_type: str) -> bool:
        """True the first time this consumer sees (source, id); False on a redelivery."""


class SqlEventLog(EventLog):
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, *, consumer: str, source: str, event_id: str, event_type: str) -> bool:
        statement = (
            insert(ProcessedEvent)
            .values(consumer=consumer, source=source, id=event_id, type=event_type)
            .on_conflict_do_nothing()
            .returning(ProcessedEvent.id)
        )
        return self.session.execute(statement).first() is not None


class SqlDeadLetterRepository(SqlRepository[DeadLetter]):
    model = DeadLetter

    def list(self, *, limit: int = 100, include_replayed: bool = False) -> list[DeadLetter]:
        query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
        if not include_replayed:
            query = query.where(DeadLetter.replayed_at.is_(None))
        return list(self.session.scalars(query))


def bind_repositories(uow: Any, session: Session) -> None:
    """Give a unit of work its repositories, all on the one session."""
    uow.users = SqlUserRepository(session)
    uow.refresh_tokens = SqlRefreshTokenRepository(session)
    uow.revoked_tokens = SqlRevokedTokenRepository(session)
    uow.events = SqlEventLog(session)
    uow.dead_letters = SqlDeadLetterRepository(session)
