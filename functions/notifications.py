"""Followers' notifications: the go-live fan-out, the inbox, marking read, and pruning."""

from __future__ import annotations

from datetime import UTC

from pydantic import BaseModel, Field, model_validator

from shared_lib.catalog import Scaling
from shared_lib.events import EventType, stream_of
from shared_lib.http import event_function, http_function, scheduled_function
from shared_lib.notifications import NotificationView
from shared_lib.pagination import PageQuery
from shared_lib.schemas import Page, Request
from shared_lib.security import AccessClaims

# A go-live of a large channel writes its followers' rows in batches: time to finish.
FAN_OUT = Scaling(max_scale=10, concurrency=4, timeout_seconds=300)


class InboxQuery(PageQuery):
    unread: bool = False


class Inbox(Page[NotificationView]):
    unread_count: int


class MarkRead(Request):
    """Either `ids` (up to 100 of your notifications) or `all: true`."""

    ids: list[int] | None = Field(default=None, min_length=1, max_length=100)
    all: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> MarkRead:
        if (self.ids is None) == (not self.all):
            raise ValueError("send either ids or all: true")
        return self


class Unread(BaseModel):
    marked: int
    unread_count: int


@event_function(EventType.STREAM_STARTED, scaling=FAN_OUT)
def notify_followers(event, uow) -> None:
    """A channel went live: one notification for each of its followers, exactly once."""
    from shared_lib import notifications

    stream_id = stream_of(event)
    if stream_id is None:
        return
    notifications.went_live(uow, stream_id)


@http_function("GET /api/notifications", query=InboxQuery, auth="user", response=Inbox)
def list_notifications(query: InboxQuery, user: AccessClaims) -> Inbox:
    """Your notifications, newest first (unread=true: only those), with the unread count."""
    from shared_lib.db import UnitOfWork
    from shared_lib.pagination import decode_cursor, page_of

    before = decode_cursor(query.cursor, int)
    with UnitOfWork() as uow:
        rows = uow.notifications.inbox(user.user_id, before=before[0] if before else None,
                                       limit=query.limit + 1, unread_only=query.unread)
        rows, cursor = page_of(rows, query.limit, lambda row: (row[0].id,))
        return Inbox(items=[NotificationView.of(*row) for row in rows], next_cursor=cursor,
                     unread_count=uow.notifications.unread_count(user.user_id))


@http_function("POST /api/notifications/read", body=MarkRead, auth="user", response=Unread)
def mark_notifications_read(body: MarkRead, user: AccessClaims) -> Unread:
    """Mark some of your notifications (ids) or all of them read."""
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        marked = uow.notifications.mark_read(user.user_id, None if body.all else body.ids)
        uow.commit()
        return Unread(marked=marked, unread_count=uow.notifications.unread_count(user.user_id))


@scheduled_function("41 3 * * *")
def prune_notifications() -> None:
    """Delete notifications older than the retention setting."""
    from datetime import datetime, timedelta

    from shared_lib.config import get_settings
    from shared_lib.db import UnitOfWork

    cutoff = datetime.now(UTC) - timedelta(days=get_settings().notification_retention_days)
    while True:
        with UnitOfWork() as uow:
            deleted = uow.notifications.prune(before=cutoff)
            uow.commit()
        if not deleted:
            break
