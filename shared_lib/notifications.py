"""Followers' inboxes: "CHANNEL went live: TITLE", newest first, read or unread.

A go-live is fanned out to every follower by set-based statements of FAN_OUT_BATCH
followers each (INSERT ... SELECT over the channel's follower index), all in the event's
transaction, so a channel with 100,000 followers costs ten statements, not 100,000 round
trips, and a redelivered event adds nothing (one notification per user, stream and kind).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from shared_lib.schemas import UserSummary

if TYPE_CHECKING:
    from shared_lib.db import UnitOfWork
    from shared_lib.models import Notification, User

WENT_LIVE = "stream_started"
FAN_OUT_BATCH = 10_000


class NotificationView(BaseModel):
    id: int
    kind: str
    message: str
    channel: UserSummary
    stream_id: uuid.UUID
    title: str
    created_at: datetime
    read: bool

    @classmethod
    def of(cls, notification: Notification, channel: User) -> NotificationView:
        return cls(id=notification.id, kind=notification.kind,
                   message=f"{channel.display_name} went live: {notification.title}",
                   channel=UserSummary.of(channel), stream_id=notification.stream_id,
                   title=notification.title, created_at=notification.created_at,
                   read=notification.read_at is not None)


def went_live(uow: UnitOfWork, stream_id: uuid.UUID) -> int:
    """Tell every follower of the stream's channel; how many notifications were new."""
    row = uow.streams.get_full(stream_id)
    if row is None:
        return 0
    stream, metadata, _, _ = row
    return uow.notifications.fan_out(channel_id=stream.user_id, stream_id=stream.id,
                                     kind=WENT_LIVE, title=metadata.title, batch=FAN_OUT_BATCH)
