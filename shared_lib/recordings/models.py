"""The recordings table: one row per broadcast recorded, its status and where its replay is."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

import shared_lib.streams.models  # noqa: F401 - the `live_streams` its foreign keys name
from shared_lib.db import Base, now_column


class Recording(Base):
    """What became of a broadcast's recording: a replay (`ready`), a remux that failed (with
    ffmpeg's reason), one the channel did not want (`skipped`), or a replay since deleted by
    its owner or expired. Only `ready` has files, under the media directory's replays/<id>/."""

    __tablename__ = "recordings"

    stream_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("live_streams.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('ready', 'failed', 'skipped', 'deleted', 'expired')",
                        name="ck_recording_status"),
        Index("ix_recordings_ready", "ready_at", postgresql_where=text("status = 'ready'")),
    )
