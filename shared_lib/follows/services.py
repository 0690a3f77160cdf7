"""Following and unfollowing: idempotent edges, exact counters, and the events they emit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy.exc import DBAPIError

from shared_lib import errors
from shared_lib.accounts.shapes import PublicUser
from shared_lib.db import sqlstate
from shared_lib.events.outbox import record
from shared_lib.events.types import EventType
from shared_lib.follows.shapes import FollowEdge, FollowPage, FollowState

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork
    from shared_lib.http.paging import PageQuery

SOURCE = "/functions/follow"
FOREIGN_KEY_VIOLATION = "23503"  # the follower's account is gone


def set_following(uow: UnitOfWork, *, follower_id: uuid.UUID, username: str,
                  following: bool) -> FollowState:
    """Make `follower_id` follow (or stop following) `username`; the target, with fresh
    counts. Repeating a follow or an unfollow changes nothing and emits nothing. The
    follower is not loaded: an account that is gone cannot be the edge's follower (its
    foreign key), which is a 401 like any request of a deleted account."""
    try:
        change = uow.follows.change(follower_id, username, following=following)
    except DBAPIError as exc:
        if sqlstate(exc) != FOREIGN_KEY_VIOLATION:
            raise
        raise errors.InvalidToken() from None
    if change is None:
        raise errors.UserNotFound()
    target = change.channel
    if target.id == follower_id:
        raise errors.CannotFollowSelf()
    user = PublicUser.of(target, is_live=change.live)
    if change.changed:
        record(
            uow,
            type=EventType.USER_FOLLOWED if following else EventType.USER_UNFOLLOWED,
            source=SOURCE,
            subject=str(target.id),
            data={"follower_id": str(follower_id), "followed_id": str(target.id),
                  "followed_username": target.username,
                  "at": datetime.now(UTC).isoformat()},
        )
        # The counters move when this commits (migration 0013): answer with what they will be.
        user.followers_count += 1 if following else -1
    return FollowState(following=following, user=user)


def _state(uow: UnitOfWork, target: User, *, following: bool) -> FollowState:
    return FollowState(following=following,
                       user=PublicUser.of(target, is_live=uow.users.is_live(target.id)))


def _channel(uow: UnitOfWork, username: str) -> User:
    user = uow.users.get_by_username(username)
    if user is None:
        raise errors.UserNotFound()
    return user


def state(uow: UnitOfWork, *, follower_id: uuid.UUID, username: str) -> FollowState:
    """Whether `follower_id` follows `username` (what its follow button shows)."""
    target = _channel(uow, username)
    return _state(uow, target, following=uow.follows.is_following(follower_id, target.id))


def edges(uow: UnitOfWork, username: str, query: PageQuery,
          side: Literal["followers", "following"]) -> FollowPage:
    """Who follows `username`, or whom it follows, newest first."""
    owner = _channel(uow, username)
    listing = uow.follows.followers if side == "followers" else uow.follows.following
    rows = listing(owner.id, after=query.after(datetime.fromisoformat, uuid.UUID),
                   limit=query.fetch)
    rows, cursor = query.page(rows, lambda edge: (edge[1].isoformat(), edge[0].id))
    live = uow.users.live_among([user.id for user, _ in rows])
    return FollowPage(items=[FollowEdge(user=PublicUser.of(user, is_live=user.id in live),
                                        followed_at=at) for user, at in rows],
                      next_cursor=cursor)
