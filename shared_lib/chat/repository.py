"""Chat's data: a room's messages, settings, moderators and bans."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, literal, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from shared_lib.accounts.models import User
from shared_lib.chat.models import ChatBan, ChatMessage, ChatModerator, ChatSettings
from shared_lib.repositories import SqlRepository, affected


@dataclass(frozen=True)
class Posting:
    """What a room holds about a would-be poster, read in one round trip: the room's modes,
    the poster's ban or timeout, and whether they moderate it."""

    slow_mode_seconds: int
    followers_only_minutes: int | None
    blocked_terms: list[str]
    banned: bool
    banned_until: datetime | None  # a timeout's end; None for a ban (or no ban)
    moderator: bool


class SqlChatRepository(SqlRepository[ChatMessage]):
    model = ChatMessage

    def recent(self, channel_id: uuid.UUID, *, limit: int) -> list[tuple[ChatMessage, User]]:
        """The room's last `limit` messages not deleted, oldest first, with their senders."""
        query = (select(ChatMessage, User).join(User, User.id == ChatMessage.user_id)
                 .where(ChatMessage.channel_id == channel_id, ChatMessage.deleted_at.is_(None))
                 .order_by(ChatMessage.id.desc()).limit(limit))
        return [(message, user) for message, user in reversed(self.session.execute(query).all())]

    def during(self, stream_id: uuid.UUID, *, since: datetime | None,
               after: tuple[datetime, int] | None, limit: int) -> list[tuple[ChatMessage, User]]:
        """The messages sent during a stream and not deleted, oldest first: from `since`,
        or after the (sent_at, id) of the last one served."""
        query = (select(ChatMessage, User).join(User, User.id == ChatMessage.user_id)
                 .where(ChatMessage.stream_id == stream_id, ChatMessage.deleted_at.is_(None))
                 .order_by(ChatMessage.sent_at, ChatMessage.id).limit(limit))
        if since is not None:
            query = query.where(ChatMessage.sent_at >= since)
        if after is not None:
            query = query.where(tuple_(ChatMessage.sent_at, ChatMessage.id)
                                > tuple_(literal(after[0]), literal(after[1])))
        return [(message, user) for message, user in self.session.execute(query).all()]

    def moderators(self, channel_id: uuid.UUID) -> list[User]:
        return list(self.session.scalars(
            select(User).join(ChatModerator, ChatModerator.user_id == User.id)
            .where(ChatModerator.channel_id == channel_id).order_by(User.username)))

    def message(self, channel_id: uuid.UUID, message_id: int) -> ChatMessage | None:
        message = self.session.get(ChatMessage, message_id)
        return message if message is not None and message.channel_id == channel_id else None

    def settings(self, channel_id: uuid.UUID) -> ChatSettings | None:
        return self.session.get(ChatSettings, channel_id)

    def settings_for_update(self, channel_id: uuid.UUID) -> ChatSettings:
        """The room's settings row, made with the defaults if it has none yet, and locked."""
        self.session.execute(insert(ChatSettings).values(channel_id=channel_id)
                             .on_conflict_do_nothing(index_elements=["channel_id"]))
        found = self.session.scalar(select(ChatSettings).where(ChatSettings.channel_id == channel_id)
                                    .with_for_update().execution_options(populate_existing=True))
        assert found is not None
        return found

    def posting(self, channel_id: uuid.UUID, user_id: uuid.UUID) -> Posting:
        room = ChatSettings.channel_id == channel_id
        ban = (ChatBan.channel_id == channel_id) & (ChatBan.user_id == user_id)
        row = self.session.execute(select(
            select(ChatSettings.slow_mode_seconds).where(room).scalar_subquery(),
            select(ChatSettings.followers_only_minutes).where(room).scalar_subquery(),
            select(ChatSettings.blocked_terms).where(room).scalar_subquery(),
            exists().where(ban),
            select(ChatBan.until).where(ban).scalar_subquery(),
            exists().where(ChatModerator.channel_id == channel_id,
                           ChatModerator.user_id == user_id),
        )).one()
        return Posting(slow_mode_seconds=row[0] or 0, followers_only_minutes=row[1],
                       blocked_terms=list(row[2] or []), banned=row[3], banned_until=row[4],
                       moderator=row[5])

    def is_moderator(self, channel_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return self.session.get(ChatModerator, (channel_id, user_id)) is not None

    def appoint(self, channel_id: uuid.UUID, user_id: uuid.UUID) -> None:
        self.session.execute(insert(ChatModerator).values(channel_id=channel_id, user_id=user_id)
                             .on_conflict_do_nothing(index_elements=["channel_id", "user_id"]))

    def dismiss(self, channel_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return affected(self.session.execute(delete(ChatModerator).where(
            ChatModerator.channel_id == channel_id, ChatModerator.user_id == user_id))) > 0

    def ban(self, channel_id: uuid.UUID, user_id: uuid.UUID, *, until: datetime | None,
            reason: str | None, by: uuid.UUID) -> None:
        """Ban or time out, replacing whatever ban or timeout there was."""
        values = {"until": until, "reason": reason, "banned_by": by}
        self.session.execute(insert(ChatBan).values(channel_id=channel_id, user_id=user_id, **values)
                             .on_conflict_do_update(index_elements=["channel_id", "user_id"],
                                                    set_=values))

    def unban(self, channel_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return affected(self.session.execute(delete(ChatBan).where(
            ChatBan.channel_id == channel_id, ChatBan.user_id == user_id))) > 0
