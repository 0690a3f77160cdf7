"""The values of every status column, one StrEnum each (they compare equal to the strings
PostgreSQL holds). A module of its own, without SQLAlchemy, so response shapes can use them
without a cold start paying for the database layer."""

from __future__ import annotations

from enum import StrEnum


class StreamStatus(StrEnum):
    CREATED = "created"
    LIVE = "live"
    ENDED = "ended"


class RecordingStatus(StrEnum):
    READY = "ready"
    FAILED = "failed"
    SKIPPED = "skipped"
    DELETED = "deleted"
    EXPIRED = "expired"


class ClipStatus(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class WebhookStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
