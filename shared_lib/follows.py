"""Following and unfollowing: idempotent edges, exact counters, and the events they emit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared_lib import errors
from shared_lib.events import EventType, deliver, record
from shared_lib.models import User

if TYPE_CHECKING:
    from shared_lib.db import UnitOfWork

SOURCE = "/functions/follow"


def set_following(uow: UnitOfWork, *, follower_id: uuid.UUID, username: str, following: bool) -> User:
    """Make `follower_id` follow (or stop following) `username`; the target, with fresh
    counts. Repeating a follow or an unfollow changes nothing and emits nothing."""
    target = uow.users.get_by_username(username)
    if target is None:
        raise errors.UserNotFound()
    if target.id == follower_id:
        raise errors.CannotFollowSelf()
    relationships = uow.relationships
    changed = (relationships.follow if following else relationships.unfollow)(follower_id, target.id)
    events = []
    if changed:
        events.append(record(
            uow,
            type=EventType.USER_FOLLOWED if following else EventType.USER_UNFOLLOWED,
            source=SOURCE,
            subject=str(target.id),
            data={"follower_id": str(follower_id), "followed_id": str(target.id),
                  "followed_username": target.username,
                  "at": datetime.now(UTC).isoformat()},
        ))
    uow.users.reload(target)
    uow.commit()
    deliver(events)
    return target
