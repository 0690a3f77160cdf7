"""The streams tables: a broadcast's life (live_streams) and what its owner says about it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared_lib.db import Base, now_column, user_column


class LiveStream(Base):
    """One broadcast: created ahead of time or on publish, live, then ended for good."""

    __tablename__ = "live_streams"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = user_column()
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="created")
    created_at: Mapped[datetime] = now_column()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(20))
    viewer_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    ingest_pod: Mapped[str | None] = mapped_column(String(100))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The publish that carries the stream now (the sidecar names each one): a reconnect
    # starts a newer one, and the late end of the older one changes nothing.
    publish_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("status IN ('created', 'live', 'ended')", name="ck_stream_status"),
        Index("ix_streams_user_created", "user_id", "created_at", "id"),
        Index("ix_streams_live", "viewer_count", "id", postgresql_where=text("status = 'live'")),
        Index("ix_streams_created", "created_at", "id"),
        # One broadcast at a time per channel.
        Index("uq_streams_one_live_per_user", "user_id", unique=True,
              postgresql_where=text("status = 'live'")),
    )


class StreamMetadata(Base):
    """What a stream is about (editorial) and what the encoder sends (technical)."""

    __tablename__ = "stream_metadata"

    stream_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("live_streams.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(String(140), nullable=False, server_default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    category: Mapped[str | None] = mapped_column(String(50))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(25)), nullable=False, server_default="{}")
    language: Mapped[str | None] = mapped_column(String(8))
    video_codec: Mapped[str | None] = mapped_column(String(20))
    audio_codec: Mapped[str | None] = mapped_column(String(20))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    frame_rate: Mapped[int | None] = mapped_column(Integer)
    video_bitrate_kbps: Mapped[int | None] = mapped_column(Integer)
    audio_bitrate_kbps: Mapped[int | None] = mapped_column(Integer)
    thumbnail_url: Mapped[str | None] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = now_column()

    __table_args__ = (
        Index("ix_metadata_title_trgm", func.lower(title).label("lower_title"),
              postgresql_using="gin", postgresql_ops={"lower_title": "gin_trgm_ops"}),
        Index("ix_metadata_category", "category"),
    )
