"""Chat as clients see it (DESIGN.md §10): messages, a room's settings, bans and moderators,
and what owners, moderators and viewers send."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, Field, StringConstraints

from shared_lib.accounts.shapes import UserSummary
from shared_lib.chat.rules import MAX_LENGTH
from shared_lib.http.paging import Page, PageQuery
from shared_lib.http.requests import Request, Shape

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.chat.models import ChatMessage, ChatSettings

MAX_TIMEOUT_SECONDS = 14 * 24 * 3600
MAX_SLOW_MODE_SECONDS = 3600
MAX_FOLLOWERS_ONLY_MINUTES = 90 * 24 * 60
Term = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1,
                                        max_length=50, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Message(Shape):
    id: int
    user: UserSummary
    text: str
    sent_at: datetime
    stream_id: uuid.UUID | None

    @classmethod
    def of(cls, message: ChatMessage, user: User) -> Message:
        return cls(id=message.id, user=UserSummary.of(user), text=message.text,
                   sent_at=message.sent_at, stream_id=message.stream_id)


class History(Shape):
    items: list[Message]
    last_event_id: str | None = Field(
        description="the room's last event before these messages: open chat-events with it "
                    "as last_event_id to miss nothing since (null while Redis is unavailable)")


class ReplayChat(Page[Message]):
    """The chat of a stream as it happened, oldest first."""


class ReplayChatQuery(PageQuery):
    since: datetime | None = Field(
        default=None, description="start at the first message sent at or after this time "
                                  "(a replay seeks there)")


class Moderators(Shape):
    items: list[UserSummary]


class HistoryQuery(Shape):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=200)


class NewMessage(Request):
    text: str = Field(min_length=1, max_length=MAX_LENGTH * 2)  # trimmed, then at most 500


class RoomSettings(Shape):
    slow_mode_seconds: int
    followers_only_minutes: int | None
    blocked_terms: list[str]

    @classmethod
    def of(cls, settings: ChatSettings | None) -> RoomSettings:
        if settings is None:
            return cls(slow_mode_seconds=0, followers_only_minutes=None, blocked_terms=[])
        return cls(slow_mode_seconds=settings.slow_mode_seconds,
                   followers_only_minutes=settings.followers_only_minutes,
                   blocked_terms=list(settings.blocked_terms))


class SettingsChange(Request):
    """Only the fields sent change; followers_only_minutes null turns follower-only off."""

    # (The ignores: a default of None means absent, unchanged.)
    slow_mode_seconds: int = Field(default=None, ge=0, le=MAX_SLOW_MODE_SECONDS)  # type: ignore[assignment]
    followers_only_minutes: int | None = Field(default=None, ge=0, le=MAX_FOLLOWERS_ONLY_MINUTES)
    blocked_terms: list[Term] = Field(default=None, max_length=100)  # type: ignore[arg-type]


class BanRequest(Request):
    """No duration: a ban until lifted. A duration: a timeout of that many seconds."""

    duration_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    reason: str | None = Field(default=None, max_length=200)


class Ban(Shape):
    user: UserSummary
    banned: bool
    until: datetime | None
    reason: str | None


class Moderator(Shape):
    user: UserSummary
    moderator: bool
