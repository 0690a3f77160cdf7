"""Followers' inboxes: "CHANNEL went live: TITLE", newest first, read or unread.

A go-live is fanned out to every follower by set-based statements of FAN_OUT_BATCH
followers each (INSERT ... SELECT over the channel's follower index), all in the event's
transaction, so a channel with 100,000 followers costs ten statements, not 100,000 round
trips, and a redelivered event adds nothing (one notification per user, stream and kind).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from shared_lib.notifications.shapes import Inbox, InboxQuery, MarkRead, NotificationView, Unread

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork

WENT_LIVE = "stream_started"
FAN_OUT_BATCH = 10_000


def went_live(uow: UnitOfWork, stream_id: uuid.UUID) -> int:
    """Tell every follower of the stream's channel; how many notifications were new."""
    row = uow.streams.get_full(stream_id)
    if row is None:
        return 0
    stream, metadata, _, _ = row
    return uow.notifications.fan_out(channel_id=stream.user_id, stream_id=stream.id,
                                     kind=WENT_LIVE, title=metadata.title, batch=FAN_OUT_BATCH)


def inbox(uow: UnitOfWork, account: User, query: InboxQuery) -> Inbox:
    """`account`'s notifications, newest first (or only the unread), with the unread count."""
    before = query.after(int)
    rows = uow.notifications.inbox(account.id, before=before[0] if before else None,
                                   limit=query.fetch, unread_only=query.unread)
    rows, cursor = query.page(rows, lambda row: (row[0].id,))
    return Inbox(items=[NotificationView.of(*row) for row in rows], next_cursor=cursor,
                 unread_count=uow.notifications.unread_count(account.id))


def mark_read(uow: UnitOfWork, account: User, request: MarkRead) -> Unread:
    marked = uow.notifications.mark_read(account.id, None if request.all else request.ids)
    return Unread(marked=marked, unread_count=uow.notifications.unread_count(account.id))


def prune(*, retention_days: int) -> None:
    """Delete notifications older than `retention_days`, a batch per transaction."""
    from shared_lib.db import UnitOfWork

    cutoff = datetime.now(UTC) - timedelta(days=retention_days)
    while True:
        with UnitOfWork() as uow:
            deleted = uow.notifications.prune(before=cutoff)
            uow.commit()
        if not deleted:
            return
