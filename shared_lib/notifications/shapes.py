"""Notifications as clients see them: the inbox, and marking read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from shared_lib.accounts.shapes import UserSummary
from shared_lib.http.paging import Page, PageQuery
from shared_lib.http.requests import Request, Shape

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.notifications.models import Notification


class NotificationView(Shape):
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


class Unread(Shape):
    marked: int
    unread_count: int
