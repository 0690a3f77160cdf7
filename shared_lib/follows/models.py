"""The follow graph's table: who follows whom, since when."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Index
from sqlalchemy.orm import Mapped

from shared_lib.db import Base, now_column, user_column


class Follow(Base):
    """`follower_id` follows `followed_id`."""

    __tablename__ = "user_relationships"

    follower_id: Mapped[uuid.UUID] = user_column(primary_key=True)
    followed_id: Mapped[uuid.UUID] = user_column(primary_key=True)
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (
        CheckConstraint("follower_id <> followed_id", name="ck_no_self_follow"),
        Index("ix_relationships_followed", "followed_id", "created_at", "follower_id"),
        Index("ix_relationships_follower", "follower_id", "created_at", "followed_id"),
    )
