"""The analytics tables: a stream's rolled-up totals, its per-minute timeline, and who
watched which channel (what recommendations learn from)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, LargeBinary
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

import shared_lib.streams.models  # noqa: F401 - the `live_streams` its foreign keys name
from shared_lib.db import Base, now_column, user_column


class StreamStats(Base):
    """A stream's rolled-up viewing totals. Counters only ever grow by batches applied
    exactly once (`last_batch`); uniques keep their HyperLogLog so a restarted Redis can be
    merged back, not start over."""

    __tablename__ = "stream_stats"

    stream_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("live_streams.id", ondelete="CASCADE"), primary_key=True
    )
    total_views: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    unique_viewers: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    uniques_hll: Mapped[bytes | None] = mapped_column(LargeBinary)
    peak_viewers: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    watch_time_ms: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    last_batch: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    finalized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = now_column()


class ViewerSample(Base):
    """The most concurrent viewers of a stream within one minute."""

    __tablename__ = "viewer_samples"

    stream_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("live_streams.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    viewers: Mapped[int] = mapped_column(Integer, nullable=False)


class ChannelView(Base):
    """How much a logged-in user has watched a channel: the history recommendations read."""

    __tablename__ = "channel_views"

    user_id: Mapped[uuid.UUID] = user_column(primary_key=True)
    channel_id: Mapped[uuid.UUID] = user_column(primary_key=True)
    watch_seconds: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    sessions: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_watched_at: Mapped[datetime] = now_column()

    __table_args__ = (Index("ix_channel_views_channel", "channel_id", "user_id"),)
