"""Users: lookups by name and email, live status, and prefix search."""

from __future__ import annotations

import abc
import uuid

from sqlalchemy import func, or_, select, tuple_

from shared_lib.models import LiveStream, User
from shared_lib.repositories.base import Repository, SqlRepository, escape_like, keyset
from shared_lib.statuses import StreamStatus


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
