"""Followers' notifications: the go-live fan-out, the inbox, marking read, and pruning."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared_lib.catalog import Scaling
from shared_lib.config import get_settings
from shared_lib.events.types import EventType, stream_of
from shared_lib.http import event_function, http_function, scheduled_function
from shared_lib.notifications import services as notifications
from shared_lib.notifications.shapes import Inbox, InboxQuery, MarkRead, Unread

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork

# A go-live of a large channel writes its followers' rows in batches: time to finish.
FAN_OUT = Scaling(max_scale=10, concurrency=4, timeout_seconds=300)


@event_function(EventType.STREAM_STARTED, scaling=FAN_OUT)
def notify_followers(event: CloudEvent, uow: UnitOfWork) -> None:
    """A channel went live: one notification for each of its followers, exactly once."""
    stream_id = stream_of(event)
    if stream_id is not None:
        notifications.went_live(uow, stream_id)


@http_function("GET /api/notifications", query=InboxQuery, auth="user", response=Inbox)
def list_notifications(query: InboxQuery, account: User, uow: UnitOfWork) -> Inbox:
    """Your notifications, newest first (unread=true: only those), with the unread count."""
    return notifications.inbox(uow, account, query)


@http_function("POST /api/notifications/read", body=MarkRead, auth="user", response=Unread)
def mark_notifications_read(body: MarkRead, account: User, uow: UnitOfWork) -> Unread:
    """Mark some of your notifications (ids) or all of them read."""
    return notifications.mark_read(uow, account, body)


@scheduled_function("41 3 * * *")
def prune_notifications() -> None:
    """Delete notifications older than the retention setting."""
    notifications.prune(retention_days=get_settings().notification_retention_days)
