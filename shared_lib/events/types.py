"""The event types this platform emits and consumes, and reading what an event is about."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent



class EventType:
    STREAM_STARTED = "dev.streamfn.stream.started"
    STREAM_ENDED = "dev.streamfn.stream.ended"
    USER_FOLLOWED = "dev.streamfn.user.followed"
    USER_UNFOLLOWED = "dev.streamfn.user.unfollowed"
    RECORDING_COMPLETED = "dev.streamfn.recording.completed"
    CLIP_REQUESTED = "dev.streamfn.clip.requested"
    WEBHOOK_DELIVERY = "dev.streamfn.webhook.delivery.requested"
    PING = "dev.knative.sources.ping"


def data_of(event: CloudEvent) -> dict[str, Any]:
    """An event's data when it is a JSON object, else {}."""
    return event.data if isinstance(event.data, dict) else {}


def stream_of(event: CloudEvent) -> uuid.UUID | None:
    """The stream an event is about: data.stream_id, else its subject; None if neither is one."""
    try:
        return uuid.UUID(str(data_of(event).get("stream_id") or event.get("subject")))
    except ValueError:
        return None


def publish_of(event: CloudEvent) -> str | None:
    """The publish an ingest event is about (the sidecar names each one), if it says."""
    publish = data_of(event).get("publish_id")
    return publish[:64] if isinstance(publish, str) and publish else None


OLDEST_EVENT_TIME = timedelta(days=1)


def time_of(event: CloudEvent, field: str, *, now: datetime | None = None) -> datetime:
    """A time the event's data states (`field`, ISO 8601; UTC when it names no zone), clamped
    to now: a time from the future, or older than a day (no delivery is retried that long),
    changes nothing it should not. Missing or malformed, it is now."""
    now = now or datetime.now(UTC)
    value = data_of(event).get(field)
    try:
        stated = datetime.fromisoformat(value) if isinstance(value, str) else now
        stated = stated if stated.tzinfo else stated.replace(tzinfo=UTC)
        stated.astimezone(UTC)
    except (ValueError, OverflowError):
        return now
    return min(max(stated, now - OLDEST_EVENT_TIME), now)
