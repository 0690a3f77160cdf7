"""The recompute's output tables: channels to show a user when live, and channels to follow."""

from __future__ import annotations

import uuid

from sqlalchemy import Float, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared_lib.db import Base


class _Suggestion:
    """The columns every recomputed suggestion has: for whom, which channel, how strong, why."""

    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    channel_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    score: Mapped[float] = mapped_column(Float, nullable=False)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    detail: Mapped[str | None] = mapped_column(String(100))


class RecommendedStream(_Suggestion, Base):
    """A channel worth showing a user when it is live, from the last recompute."""

    __tablename__ = "recommended_streams"


class RecommendedUser(_Suggestion, Base):
    """A channel a user might follow, from the last recompute."""

    __tablename__ = "recommended_users"
