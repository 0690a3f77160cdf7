"""The clips table: a viewer's cut of a stream, live or replayed, and where it stands."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

import shared_lib.streams.models  # noqa: F401 - the `live_streams` its foreign keys name
from shared_lib.db import Base, now_column, user_column


class Clip(Base):
    """The last `seconds` of a stream before `ends_at` (seconds into its replay) or, live,
    before it was asked for (`created_at`). `processing` until cut-clip has written
    clips/<id>.mp4 and its thumbnail (`ready`) or given up (`failed`, with the reason).
    A clip outlives its stream's replay; it goes with the stream, its channel or its clipper."""

    __tablename__ = "clips"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    stream_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("live_streams.id", ondelete="CASCADE"), nullable=False
    )
    channel_id: Mapped[uuid.UUID] = user_column()
    clipped_by: Mapped[uuid.UUID] = user_column()
    title: Mapped[str] = mapped_column(String(140), nullable=False)
    seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    ends_at: Mapped[float | None] = mapped_column(Float)  # None: cut from the live stream
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="processing")
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('processing', 'ready', 'failed')", name="ck_clip_status"),
        CheckConstraint("seconds BETWEEN 5 AND 60", name="ck_clip_seconds"),
        Index("ix_clips_channel", "channel_id", "created_at", "id"),
        Index("ix_clips_clipper", "clipped_by", "created_at"),
    )
