"""The notifications table: one row per user, stream and kind."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

import shared_lib.streams.models  # noqa: F401 - the `live_streams` its foreign keys name
from shared_lib.db import Base, now_column, user_column


class Notification(Base):
    """One line of a user's inbox: a channel they follow went live. Once per (user, stream,
    kind), however often the event that caused it is delivered."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = user_column()
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    channel_id: Mapped[uuid.UUID] = user_column()
    stream_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("live_streams.id", ondelete="CASCADE"), nullable=False
    )
    title: Mapped[str] = mapped_column(String(140), nullable=False)
    created_at: Mapped[datetime] = now_column()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("user_id", "stream_id", "kind", name="uq_notifications_once"),
        Index("ix_notifications_inbox", "user_id", "id"),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_created", "created_at"),
    )
