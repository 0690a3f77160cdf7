"""CloudEvent types, sending to K_SINK in binary mode, the outbox, and reading an event
off a request.

Knative's SinkBinding (or the local runner) sets K_SINK to the broker and may set
K_CE_OVERRIDES to `{"extensions": {...}}`, which every emitted event must carry.

Functions with a database never send an event they have not first recorded: `record`
writes it into the outbox in the same transaction as the change it announces, `deliver`
sends it after the commit, and the relay-outbox schedule sends whatever a failed send
left behind. The ingest sidecar, which has no database, sends with `binary_headers` and
`send` directly, retrying under one event id. A change is never committed without its
event, nor an event sent for a change that rolled back.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared_lib.config import get_settings
from shared_lib.errors import InvalidInput

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared_lib.db import UnitOfWork
    from shared_lib.models import OutboxEvent

log = logging.getLogger(__name__)


class EventType:
    STREAM_STARTED = "dev.streamfn.stream.started"
    STREAM_ENDED = "dev.streamfn.stream.ended"
    USER_FOLLOWED = "dev.streamfn.user.followed"
    USER_UNFOLLOWED = "dev.streamfn.user.unfollowed"
    RECORDING_COMPLETED = "dev.streamfn.recording.completed"
    WEBHOOK_DELIVERY = "dev.streamfn.webhook.delivery.requested"
    PING = "dev.knative.sources.ping"


SEND_TIMEOUT_SECONDS = 2.0
RELAY_AFTER_SECONDS = 10


def binary_headers(
    *, type: str, source: str, subject: str | None = None, event_id: str | None = None
) -> dict[str, str]:
    """The ce-* headers of a binary-mode CloudEvent carrying JSON data."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event_id or str(uuid.uuid4()),
        "ce-source": source,
        "ce-type": type,
        "ce-time": datetime.now(UTC).isoformat(),
        "content-type": "application/json",
    }
    if subject:
        headers["ce-subject"] = subject
    overrides = get_settings().k_ce_overrides
    if overrides:
        for name, value in json.loads(overrides).get("extensions", {}).items():
            headers[f"ce-{name.lower()}"] = str(value)
    return headers


def send(headers: dict[str, str], data: Any) -> bool:
    """One POST to K_SINK. True when the sink accepted the event."""
    sink = get_settings().k_sink
    if not sink:
        log.warning("K_SINK is not set; %s %s not sent", headers["ce-type"], headers["ce-id"])
        return False
    from shared_lib.sender import sender_token

    body = json.dumps(data, default=str).encode("utf-8")
    token = sender_token()
    authorization = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(sink, data=body, headers={**headers, **authorization},
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS) as response:
            return bool(response.status < 300)
    except urllib.error.HTTPError as exc:
        log.error("the sink refused %s %s with %s", headers["ce-type"], headers["ce-id"], exc.code)
    except OSError as exc:
        log.warning("the sink is unreachable for %s %s: %s", headers["ce-type"], headers["ce-id"], exc)
    return False


def record(uow: UnitOfWork, *, type: str, source: str, subject: str | None,
           data: dict[str, Any]) -> OutboxEvent:
    """Write an event into the outbox, in the caller's transaction. After the commit,
    pass it to `deliver`; if that fails, the relay-outbox schedule sends it later."""
    from shared_lib.models import OutboxEvent

    event = OutboxEvent(id=str(uuid.uuid4()), type=type, source=source, subject=subject,
                        data=json.loads(json.dumps(data, default=str)))
    uow.session.add(event)
    return event


def _send_outboxed(event: OutboxEvent) -> bool:
    headers = binary_headers(type=event.type, source=event.source, subject=event.subject,
                             event_id=event.id)
    return send(headers, event.data)


def deliver(events: list[Any]) -> None:
    """Send committed outbox events now and forget the ones the sink took."""
    sent = [event.id for event in events if _send_outboxed(event)]
    if sent:
        from shared_lib.db import UnitOfWork

        with UnitOfWork() as uow:
            uow.outbox.remove(sent)
            uow.commit()


def relay(*, limit: int = 500) -> int:
    """Send what the outbox still holds after RELAY_AFTER_SECONDS; the number sent.
    A redelivery is harmless: consumers ignore an event id they have seen."""
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        pending = uow.outbox.pending(older_than_seconds=RELAY_AFTER_SECONDS, limit=limit)
        sent = [event.id for event in pending if _send_outboxed(event)]
        uow.outbox.remove(sent)
        uow.outbox.count_attempt([e.id for e in pending if e.id not in set(sent)])
        uow.commit()
    return len(sent)


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


def parse_event(headers: Any, body: bytes) -> CloudEvent:
    """A CloudEvent from a request in binary or structured mode, or InvalidInput."""
    from cloudevents.exceptions import GenericException
    from cloudevents.http import from_http

    try:
        event = from_http(dict(headers), body)
    except (GenericException, ValueError, TypeError) as exc:
        raise InvalidInput("The request is not a valid CloudEvent.", details=[str(exc)]) from None
    for required in ("id", "source", "type"):
        if not event.get(required):
            raise InvalidInput(f"The CloudEvent has no {required}.")
    return event
