"""The accounts tables: users, refresh tokens (by hash), and access tokens revoked early."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared_lib.db import Base, now_column, user_column


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(30), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(100), nullable=False)
    display_name: Mapped[str] = mapped_column(String(50), nullable=False)
    bio: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    avatar_url: Mapped[str | None] = mapped_column(String(2000))
    followers_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    following_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    stream_key_hash: Mapped[str | None] = mapped_column(String(64))
    stream_key_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recording_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (
        Index("uq_users_username", func.lower(username), unique=True),
        Index("uq_users_email", func.lower(email), unique=True),
        Index("uq_users_stream_key_hash", "stream_key_hash", unique=True),
        Index("ix_users_username_prefix", func.lower(username).label("lower_username"),
              postgresql_ops={"lower_username": "text_pattern_ops"}),
        Index("ix_users_display_name_prefix", func.lower(display_name).label("lower_display"),
              postgresql_ops={"lower_display": "text_pattern_ops"}),
    )


class RefreshToken(Base):
    """A refresh token, stored as its SHA-256. Every use spends it and issues the next
    one in the same family; a spent token used again revokes the family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = user_column()
    family_id: Mapped[uuid.UUID] = mapped_column(UUID, nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = now_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RevokedAccessToken(Base):
    """An access token logged out before its expiry. Redis answers the hot check;
    this table is the truth when Redis is down or was flushed."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
