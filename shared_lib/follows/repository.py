"""The follow graph: edges and keyset-ordered lists of either side. The counters on `users`
follow the edges by themselves: the database moves them when a change commits (migration
0013), holding the channel's row for the commit alone."""

from __future__ import annotations

import abc
import uuid
from datetime import datetime
from typing import NamedTuple, cast

from sqlalchemy import bindparam, delete, select, text, tuple_
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared_lib.accounts.models import User
from shared_lib.accounts.shapes import Profile
from shared_lib.follows.models import Follow
from shared_lib.repositories import keyset
from shared_lib.statuses import StreamStatus

Edge = tuple[User, datetime]

# The channel's public columns (what a follow button's answer shows), found by username.
_CHANNEL = ("SELECT id, username, display_name, bio, avatar_url, followers_count, following_count, "
            "created_at FROM users WHERE lower(username) = :username")
_EDGE = {
    True: "INSERT INTO user_relationships (follower_id, followed_id) SELECT :follower, id "
          "FROM channel WHERE id <> :follower ON CONFLICT DO NOTHING RETURNING follower_id",
    False: "DELETE FROM user_relationships WHERE follower_id = :follower "
           "AND followed_id = (SELECT id FROM channel) RETURNING follower_id",
}
_CHANGE = {
    following: text(
        f"WITH channel AS ({_CHANNEL}), changed AS ({edge}) SELECT channel.*, "
        "EXISTS (SELECT FROM changed) AS changed, EXISTS (SELECT FROM live_streams "
        "WHERE user_id = channel.id AND status = :live) AS live FROM channel"
    ).bindparams(bindparam("follower", type_=UUID))
    for following, edge in _EDGE.items()
}


class Change(NamedTuple):
    channel: Profile  # as it was before this change (its counters move at the commit)
    changed: bool
    live: bool


class FollowRepository(abc.ABC):
    @abc.abstractmethod
    def follow(self, follower_id: uuid.UUID, followed_id: uuid.UUID) -> bool:
        """Add the edge; True if it is new (and the counters move when it commits)."""

    @abc.abstractmethod
    def unfollow(self, follower_id: uuid.UUID, followed_id: uuid.UUID) -> bool:
        """Remove the edge; True if it existed (and the counters move when it commits)."""

    @abc.abstractmethod
    def change(self, follower_id: uuid.UUID, username: str, *, following: bool) -> Change | None:
        """Add (or remove) the edge to the channel named `username` (never to the follower
        itself): the channel, whether that changed the edge, and whether the channel is live
        now (what a follow button's answer shows), asked together; None without a channel."""

    @abc.abstractmethod
    def is_following(self, follower_id: uuid.UUID, followed_id: uuid.UUID) -> bool: ...

    @abc.abstractmethod
    def followers(self, user_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None,
                  limit: int) -> list[Edge]: ...

    @abc.abstractmethod
    def following(self, user_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None,
                  limit: int) -> list[Edge]: ...


class SqlFollowRepository(FollowRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def follow(self, follower_id: uuid.UUID, followed_id: uuid.UUID) -> bool:
        inserted = self.session.execute(
            insert(Follow)
            .values(follower_id=follower_id, followed_id=followed_id)
            .on_conflict_do_nothing()
            .returning(Follow.follower_id)
        ).first()
        return inserted is not None

    def unfollow(self, follower_id: uuid.UUID, followed_id: uuid.UUID) -> bool:
        deleted = self.session.execute(
            delete(Follow)
            .where(Follow.follower_id == follower_id,
                   Follow.followed_id == followed_id)
            .returning(Follow.follower_id)
        ).first()
        return deleted is not None

    def change(self, follower_id: uuid.UUID, username: str, *, following: bool) -> Change | None:
        # One round trip: the channel, the edge's change and the live stream beside it. Written
        # out: SQLAlchemy compiles its PostgreSQL INSERT ... ON CONFLICT anew for every execution.
        row = self.session.execute(_CHANGE[following], {
            "follower": follower_id, "username": username.lower(), "live": StreamStatus.LIVE,
        }).first()
        if row is None:
            return None
        return Change(cast(Profile, row), changed=bool(row.changed), live=bool(row.live))

    def is_following(self, follower_id: uuid.UUID, followed_id: uuid.UUID) -> bool:
        return self.session.get(Follow, (follower_id, followed_id)) is not None

    def followed_since(self, follower_id: uuid.UUID, followed_id: uuid.UUID) -> datetime | None:
        edge = self.session.get(Follow, (follower_id, followed_id))
        return edge.created_at if edge is not None else None

    def followed_among(self, follower_id: uuid.UUID, channel_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Which of `channel_ids` the user follows now."""
        if not channel_ids:
            return set()
        query = select(Follow.followed_id).where(
            Follow.follower_id == follower_id,
            Follow.followed_id.in_(channel_ids))
        return set(self.session.scalars(query))

    def _page(self, mine: InstrumentedAttribute[uuid.UUID], theirs: InstrumentedAttribute[uuid.UUID],
              user_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Edge]:
        query = (
            select(User, Follow.created_at)
            .join(Follow, User.id == theirs)
            .where(mine == user_id)
            .order_by(Follow.created_at.desc(), theirs.desc())
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(Follow.created_at, theirs) < keyset(after))
        return [(user, created_at) for user, created_at in self.session.execute(query)]

    def followers(self, user_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None,
                  limit: int) -> list[Edge]:
        return self._page(Follow.followed_id, Follow.follower_id,
                          user_id, after, limit)

    def following(self, user_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None,
                  limit: int) -> list[Edge]:
        return self._page(Follow.follower_id, Follow.followed_id,
                          user_id, after, limit)
