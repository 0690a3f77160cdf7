"""The chat tables: a room's messages (with the live stream each was sent during), its
settings, its moderators and its bans (a timeout is a ban with an end)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

import shared_lib.streams.models  # noqa: F401 - the `live_streams` its foreign keys name
from shared_lib.db import Base, now_column, user_column


class ChatMessage(Base):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    channel_id: Mapped[uuid.UUID] = user_column()
    user_id: Mapped[uuid.UUID] = user_column()
    text: Mapped[str] = mapped_column(String(500), nullable=False)
    stream_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID, ForeignKey("live_streams.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = now_column()
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_chat_messages_channel", "channel_id", "id"),
        Index("ix_chat_messages_stream", "stream_id", "sent_at"),
    )


class ChatSettings(Base):
    __tablename__ = "chat_settings"

    channel_id: Mapped[uuid.UUID] = user_column(primary_key=True)
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    followers_only_minutes: Mapped[int | None] = mapped_column(Integer)
    blocked_terms: Mapped[list[str]] = mapped_column(ARRAY(String(50)), nullable=False,
                                                     server_default="{}")
    updated_at: Mapped[datetime] = now_column()

    __table_args__ = (
        CheckConstraint("slow_mode_seconds >= 0", name="ck_chat_settings_slow_mode"),
        CheckConstraint("followers_only_minutes IS NULL OR followers_only_minutes >= 0",
                        name="ck_chat_settings_followers_only"),
    )


class ChatModerator(Base):
    __tablename__ = "chat_moderators"

    channel_id: Mapped[uuid.UUID] = user_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = user_column(primary_key=True)
    appointed_at: Mapped[datetime] = now_column()


class ChatBan(Base):
    """A ban (`until` null) or a timeout (until then)."""

    __tablename__ = "chat_bans"

    channel_id: Mapped[uuid.UUID] = user_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = user_column(primary_key=True)
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(String(200))
    banned_by: Mapped[uuid.UUID] = user_column()
    created_at: Mapped[datetime] = now_column()
