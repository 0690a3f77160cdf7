"""Accounts' data: users (lookups by name and email, live status, prefix search), refresh
tokens and revoked access tokens."""

from __future__ import annotations

import abc
import uuid
from datetime import datetime

from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared_lib.accounts.models import RefreshToken, RevokedAccessToken, User
from shared_lib.repositories import Repository, SqlRepository, escape_like, keyset, seconds_ago
from shared_lib.statuses import StreamStatus
from shared_lib.streams.models import LiveStream


class UserRepository(Repository[User]):
    @abc.abstractmethod
    def get_by_username(self, username: str) -> User | None: ...

    @abc.abstractmethod
    def get_by_email(self, email: str) -> User | None: ...

    @abc.abstractmethod
    def get_by_stream_key_hash(self, digest: str) -> User | None: ...

    @abc.abstractmethod
    def lock(self, user_id: uuid.UUID) -> User | None:
        """The user row, locked until the transaction ends."""

    @abc.abstractmethod
    def is_live(self, user_id: uuid.UUID) -> bool: ...

    @abc.abstractmethod
    def live_among(self, user_ids: list[uuid.UUID]) -> set[uuid.UUID]: ...

    @abc.abstractmethod
    def search(self, prefix: str, *, after: tuple[int, uuid.UUID] | None,
               limit: int) -> list[User]:
        """Users whose username or display name starts with `prefix` (any case), most
        followed first."""


class SqlUserRepository(SqlRepository[User], UserRepository):
    model = User

    def get_by_username(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(func.lower(User.username) == username.lower()))

    def get_by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(func.lower(User.email) == email.lower()))

    def get_by_stream_key_hash(self, digest: str) -> User | None:
        return self.session.scalar(select(User).where(User.stream_key_hash == digest))

    def lock(self, user_id: uuid.UUID) -> User | None:
        return self.session.scalar(select(User).where(User.id == user_id).with_for_update())

    def is_live(self, user_id: uuid.UUID) -> bool:
        return user_id in self.live_among([user_id])

    def live_among(self, user_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        if not user_ids:
            return set()
        query = select(LiveStream.user_id).where(
            LiveStream.user_id.in_(user_ids), LiveStream.status == StreamStatus.LIVE
        )
        return set(self.session.scalars(query))

    def get_many(self, user_ids: list[uuid.UUID]) -> list[User]:
        return list(self.session.scalars(select(User).where(User.id.in_(user_ids)))) if user_ids else []

    def most_followed(self, *, limit: int) -> list[User]:
        query = select(User).where(User.followers_count > 0).order_by(
            User.followers_count.desc(), User.id).limit(limit)
        return list(self.session.scalars(query))

    def search(self, prefix: str, *, after: tuple[int, uuid.UUID] | None,
               limit: int) -> list[User]:
        pattern = escape_like(prefix.lower()) + "%"
        query = (
            select(User)
            .where(or_(func.lower(User.username).like(pattern, escape="\\"),
                       func.lower(User.display_name).like(pattern, escape="\\")))
            .order_by(User.followers_count.desc(), User.id.desc())
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(User.followers_count, User.id) < keyset(after))
        return list(self.session.scalars(query))


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
        since = seconds_ago(seconds)
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
