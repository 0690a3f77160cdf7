"""Notifications' data: the set-based fan-out of a go-live to every follower, and inboxes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, text, update

from shared_lib.accounts.models import User
from shared_lib.notifications.models import Notification
from shared_lib.repositories import SqlRepository, affected

# One statement per batch: the next followers by (created_at, follower_id), the channel's
# follower index order, inserted straight from the SELECT. A redelivered event inserts
# nothing (uq_notifications_once).
_FAN_OUT = """
WITH batch AS (
    SELECT follower_id, created_at FROM user_relationships
    WHERE followed_id = :channel {after}
    ORDER BY created_at, follower_id
    LIMIT :limit
), added AS (
    INSERT INTO notifications (user_id, kind, channel_id, stream_id, title)
    SELECT follower_id, :kind, :channel, :stream, :title FROM batch
    ON CONFLICT ON CONSTRAINT uq_notifications_once DO NOTHING
    RETURNING 1
), last AS (
    SELECT created_at, follower_id FROM batch ORDER BY created_at DESC, follower_id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM added), last.created_at,
       last.follower_id
FROM (SELECT 1) AS one LEFT JOIN last ON true
"""


_AFTER = "AND (created_at, follower_id) > (:after_at, :after_id)"


class SqlNotificationRepository(SqlRepository[Notification]):
    model = Notification

    def fan_out(self, *, channel_id: uuid.UUID, stream_id: uuid.UUID, kind: str, title: str,
                batch: int) -> int:
        """One notification for every follower of the channel, `batch` followers per
        statement; how many were new."""
        params = {"channel": channel_id, "stream": stream_id, "kind": kind, "title": title,
                  "limit": batch}
        added, after = 0, None
        while True:
            statement = text(_FAN_OUT.format(after=_AFTER if after else ""))
            values = {**params, **({"after_at": after[0], "after_id": after[1]} if after else {})}
            seen, new, last_at, last_id = self.session.execute(statement, values).one()
            added += new
            if seen < batch:
                return int(added)
            after = (last_at, last_id)

    def inbox(self, user_id: uuid.UUID, *, before: int | None, limit: int,
              unread_only: bool) -> list[tuple[Notification, User]]:
        query = (select(Notification, User).join(User, User.id == Notification.channel_id)
                 .where(Notification.user_id == user_id))
        if before is not None:
            query = query.where(Notification.id < before)
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        query = query.order_by(Notification.id.desc()).limit(limit)
        return [tuple(row) for row in self.session.execute(query)]

    def unread_count(self, user_id: uuid.UUID) -> int:
        return self.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None))) or 0

    def mark_read(self, user_id: uuid.UUID, ids: list[int] | None) -> int:
        """Mark these (or, with None, all) of the user's unread notifications read."""
        statement = (update(Notification)
                     .where(Notification.user_id == user_id, Notification.read_at.is_(None))
                     .values(read_at=func.now()))
        if ids is not None:
            statement = statement.where(Notification.id.in_(ids))
        return affected(self.session.execute(statement))

    def prune(self, *, before: datetime, limit: int = 10_000) -> int:
        oldest = (select(Notification.id).where(Notification.created_at < before)
                  .limit(limit).scalar_subquery())
        return affected(self.session.execute(delete(Notification).where(Notification.id.in_(oldest))))
