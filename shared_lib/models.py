"""The tables PostgreSQL holds, as SQLAlchemy 2.0 declarative models.

The schema itself only ever changes through a migration in shared_lib/migrations; these
classes describe it for queries and must agree with the newest revision (a test checks).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    # Fetch server defaults (created_at, counters) with RETURNING at insert time, so a
    # new row can be answered without a second query.
    __mapper_args__ = {"eager_defaults": True}


def _now_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


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
    created_at: Mapped[datetime] = _now_column()

    __table_args__ = (
        Index("uq_users_username", func.lower(username), unique=True),
        Index("uq_users_email", func.lower(email), unique=True),
        Index("uq_users_stream_key_hash", "stream_key_hash", unique=True),
        Index("ix_users_username_prefix", func.lower(username).label("lower_username"),
              postgresql_ops={"lower_username": "text_pattern_ops"}),
        Index("ix_users_display_name_prefix", func.lower(display_name).label("lower_display"),
              postgresql_ops={"lower_display": "text_pattern_ops"}),
    )


class UserRelationship(Base):
    """`follower_id` follows `followed_id`."""

    __tablename__ = "user_relationships"

    follower_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followed_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = _now_column()

    __table_args__ = (
        CheckConstraint("follower_id <> followed_id", name="ck_no_self_follow"),
        Index("ix_relationships_followed", "followed_id", "created_at", "follower_id"),
        Index("ix_relationships_follower", "follower_id", "created_at", "followed_id"),
    )


class LiveStream(Base):
    """One broadcast: created ahead of time or on publish, live, then ended for good."""

    __tablename__ = "live_streams"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="created")
    created_at: Mapped[datetime] = _now_column()
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
    updated_at: Mapped[datetime] = _now_column()

    __table_args__ = (
        Index("ix_metadata_title_trgm", func.lower(title).label("lower_title"),
              postgresql_using="gin", postgresql_ops={"lower_title": "gin_trgm_ops"}),
        Index("ix_metadata_category", "category"),
    )


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
    created_at: Mapped[datetime] = _now_column()
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('ready', 'failed', 'skipped', 'deleted', 'expired')",
                        name="ck_recording_status"),
        Index("ix_recordings_ready", "ready_at", postgresql_where=text("status = 'ready'")),
    )


class Notification(Base):
    """One line of a user's inbox: a channel they follow went live. Once per (user, stream,
    kind), however often the event that caused it is delivered."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    channel_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    stream_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("live_streams.id", ondelete="CASCADE"), nullable=False
    )
    title: Mapped[str] = mapped_column(String(140), nullable=False)
    created_at: Mapped[datetime] = _now_column()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("user_id", "stream_id", "kind", name="uq_notifications_once"),
        Index("ix_notifications_inbox", "user_id", "id"),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_created", "created_at"),
    )


class Webhook(Base):
    """A streamer's receiver for their channel's events. The secret signs every delivery
    (it must be readable to sign with, so it is stored as is and shown only at creation)."""

    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    events: Mapped[list[str]] = mapped_column(ARRAY(String(30)), nullable=False)
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="active")
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now_column()

    __table_args__ = (
        CheckConstraint("status IN ('active', 'disabled')", name="ck_webhook_status"),
        Index("ix_webhooks_user", "user_id", "created_at"),
    )


class WebhookDelivery(Base):
    """One event for one webhook, and how its attempts went: the streamer's delivery log."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False
    )
    event_key: Mapped[str] = mapped_column(String(250), nullable=False)
    event_id: Mapped[str] = mapped_column(String(200), nullable=False)
    event_type: Mapped[str] = mapped_column(String(200), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now_column()
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="ck_delivery_status"),
        UniqueConstraint("webhook_id", "event_key", name="uq_delivery_once"),
        Index("ix_deliveries_log", "webhook_id", "id"),
        Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )


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
    updated_at: Mapped[datetime] = _now_column()


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

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    watch_seconds: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    sessions: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_watched_at: Mapped[datetime] = _now_column()

    __table_args__ = (Index("ix_channel_views_channel", "channel_id", "user_id"),)


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


class RefreshToken(Base):
    """A refresh token, stored as its SHA-256. Every use spends it and issues the next
    one in the same family; a spent token used again revokes the family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    family_id: Mapped[uuid.UUID] = mapped_column(UUID, nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = _now_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RevokedAccessToken(Base):
    """An access token logged out before its expiry. Redis answers the hot check;
    this table is the truth when Redis is down or was flushed."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ProcessedEvent(Base):
    """CloudEvents already handled, keyed on (source, id), so redelivery has no effect."""

    __tablename__ = "processed_events"

    source: Mapped[str] = mapped_column(String(500), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(200), nullable=False)
    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[datetime] = _now_column()


class OutboxEvent(Base):
    """An event written in the same transaction as the change it announces. It is sent
    right after the commit and deleted once the broker has it; what a failed send leaves
    behind, the relay-outbox schedule sends later. Nothing acknowledged is lost."""

    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(500), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    created_at: Mapped[datetime] = _now_column()

    __table_args__ = (Index("ix_outbox_created", "created_at"),)


class DeadLetter(Base):
    """An event that a subscriber never accepted, kept for an operator to read and replay."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    subscriber: Mapped[str] = mapped_column(String(100), nullable=False)
    event_type: Mapped[str] = mapped_column(String(200), nullable=False)
    event_source: Mapped[str] = mapped_column(String(500), nullable=False)
    event_id: Mapped[str] = mapped_column(String(200), nullable=False)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _now_column()
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BrokerEvent(Base):
    """An event the one-machine broker's ingress accepted (local/event_store.py keeps the
    queue; this mapping holds the schema to its migration)."""

    __tablename__ = "broker_events"
    __table_args__ = (Index("ix_broker_events_unrouted", "queue", "id",
                            postgresql_where=text("NOT routed")),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(100), nullable=False)
    event_type: Mapped[str] = mapped_column(String(200), nullable=False)
    subscriber: Mapped[str | None] = mapped_column(String(100))
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    routed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    accepted_at: Mapped[datetime] = _now_column()


class BrokerDelivery(Base):
    """One event's delivery to one subscriber, until it is delivered or dead-lettered."""

    __tablename__ = "broker_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscriber", name="uq_broker_deliveries_once"),
        Index("ix_broker_deliveries_due", "queue", "due_at", postgresql_where=text("NOT leased")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("broker_events.id", ondelete="CASCADE"), nullable=False)
    queue: Mapped[str] = mapped_column(String(100), nullable=False)
    subscriber: Mapped[str] = mapped_column(String(100), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    due_at: Mapped[datetime] = _now_column()
    leased: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    last_error: Mapped[str | None] = mapped_column(Text)
