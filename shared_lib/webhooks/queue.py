"""Outgoing webhooks: a streamer's receivers for their channel's events, and their queue.

Each delivery is a binary-mode CloudEvent POSTed to the receiver, signed (webhooks.signing)
and sent to a checked address (webhooks.transport). Deliveries are queued as rows (one per
webhook and event, unique), then attempted one at a time by the deliver-webhook function,
which holds no transaction while it waits on the receiver. A failure is retried with
exponential backoff (30 s doubling to 2 h, by default) by the retry-webhook-deliveries
schedule; a receiver that has failed for a day is disabled, with the reason the streamer
sees in GET /api/webhooks. Whatever goes wrong in an attempt is a failed attempt, retried
and in the end given up, never a crash of the deliverer.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared_lib import errors
from shared_lib.events.outbox import record
from shared_lib.events.sending import encode
from shared_lib.events.types import EventType, data_of
from shared_lib.observability import trace
from shared_lib.statuses import DeliveryStatus, WebhookStatus
from shared_lib.webhooks.signing import SIGNATURE_HEADER, new_webhook_secret, signature, standard_signature
from shared_lib.webhooks.transport import Outcome, UnsafeUrl, normalize, post, resolve

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared_lib.config import Settings
    from shared_lib.db import UnitOfWork
    from shared_lib.events.models import OutboxEvent
    from shared_lib.webhooks.models import Webhook

EVENTS = {
    "stream.started": EventType.STREAM_STARTED,
    "stream.ended": EventType.STREAM_ENDED,
    "user.followed": EventType.USER_FOLLOWED,
}
MAX_PER_CHANNEL = 10
SOURCE = "/functions/webhooks"


# --- managing webhooks -------------------------------------------------------------------


def create(uow: UnitOfWork, user_id: uuid.UUID, *, url: str, events: list[str]) -> tuple[Webhook, str]:
    """A new webhook and its secret (the only time the secret is returned)."""
    from shared_lib.config import get_settings

    url = normalize(url)
    resolve(url, allow_private=get_settings().webhook_allow_private_addresses)
    uow.users.lock(user_id)
    if len(uow.webhooks.of_user(user_id)) >= MAX_PER_CHANNEL:
        raise errors.Conflict(f"A channel has at most {MAX_PER_CHANNEL} webhooks.")
    secret = new_webhook_secret()
    webhook = uow.webhooks.create(id=uuid.uuid4(), user_id=user_id, url=url, events=events,
                                  secret=secret, status=WebhookStatus.ACTIVE)
    return webhook, secret


def owned(uow: UnitOfWork, user_id: uuid.UUID, webhook_id: uuid.UUID) -> Webhook:
    webhook = uow.webhooks.get(webhook_id)
    if webhook is None or webhook.user_id != user_id:
        raise errors.NotFound("No such webhook.")
    return webhook


# --- queueing ----------------------------------------------------------------------------


Payload = tuple[uuid.UUID, str | None, str, dict[str, Any]]


def payload_of(uow: UnitOfWork, event_type: str, data: dict[str, Any]) -> Payload | None:
    """(channel, event key or None for the event's id, subject, public payload); None
    when it concerns nothing that exists (any more). Only public fields go to receivers:
    never an ingest pod's name, nor a follower's e-mail."""
    from shared_lib.accounts.shapes import UserSummary

    if event_type in (EventType.STREAM_STARTED, EventType.STREAM_ENDED):
        row = uow.streams.get_full(uuid.UUID(str(data.get("stream_id"))))
        if row is None:
            return None
        stream, metadata, owner, _ = row
        public = {"stream_id": str(stream.id), "channel": UserSummary.of(owner).model_dump(mode="json"),
                  "title": metadata.title, "category": metadata.category,
                  "started_at": (stream.started_at.isoformat() if stream.started_at
                                 else data.get("started_at"))}
        if event_type == EventType.STREAM_ENDED:
            public["ended_at"] = data.get("ended_at")
        # One delivery per stream and kind, however often the event was (re)sent.
        return owner.id, f"{event_type}/{stream.id}", str(stream.id), public
    follower = uow.users.get(uuid.UUID(str(data.get("follower_id"))))
    channel = uow.users.get(uuid.UUID(str(data.get("followed_id"))))
    if follower is None or channel is None:
        return None
    public = {"channel": UserSummary.of(channel).model_dump(mode="json"),
              "follower": UserSummary.of(follower).model_dump(mode="json"),
              "followed_at": data.get("at")}
    # Follows coalesce per follower and day: a client toggling follow and unfollow cannot
    # multiply a streamer's deliveries.
    day = datetime.now(UTC).date().isoformat()
    return channel.id, f"{event_type}/{follower.id}/{day}", str(channel.id), public


def enqueue(uow: UnitOfWork, event: CloudEvent) -> list[OutboxEvent]:
    """Queue `event` for every webhook of its channel subscribed to it; the outbox events
    that ask deliver-webhook to attempt them (send after the commit)."""
    data = data_of(event)
    name = next(name for name, type in EVENTS.items() if type == event["type"])
    try:
        found = payload_of(uow, event["type"], data)
    except (ValueError, TypeError):
        return []
    if found is None:
        return []
    channel_id, key, subject, public = found
    requests = []
    now = datetime.now(UTC)
    for webhook in uow.webhooks.subscribed(channel_id, name):
        delivery_id = uow.webhooks.add_delivery(
            webhook_id=webhook.id, event_key=key or event["id"], event_id=event["id"],
            event_type=event["type"], subject=subject, payload=public, occurred_at=now,
            # The schedule's safety net: attempted then if the request below is lost.
            next_attempt_at=now + timedelta(minutes=2))
        if delivery_id is not None:
            requests.append(request_attempt(uow, delivery_id))
    return requests


def request_attempt(uow: UnitOfWork, delivery_id: int) -> OutboxEvent:
    return record(uow, type=EventType.WEBHOOK_DELIVERY, source=SOURCE,
                  subject=str(delivery_id), data={"delivery_id": delivery_id})


# --- attempting --------------------------------------------------------------------------


def backoff(attempts: int, settings: Settings) -> timedelta:
    """The wait after the `attempts`-th failed attempt: doubling from the base, capped."""
    seconds = settings.webhook_retry_base_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.webhook_retry_max_seconds))


@dataclass
class Attempt:
    delivery_id: int
    target_url: str
    secret: str
    headers: dict[str, str]
    body: bytes


def lease(uow: UnitOfWork, delivery_id: int, *, lease_seconds: float) -> Attempt | None:
    """Take a pending delivery for one attempt (None: nothing to do: already delivered,
    given up, or being attempted elsewhere)."""
    delivery = uow.webhooks.delivery(delivery_id, lock=True)
    now = datetime.now(UTC)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    if delivery.leased_until is not None and delivery.leased_until > now:
        return None
    webhook = uow.webhooks.get(delivery.webhook_id)
    if webhook is None or webhook.status != WebhookStatus.ACTIVE:
        delivery.status, delivery.last_error = DeliveryStatus.FAILED, "the webhook is disabled"
        return None
    delivery.leased_until = now + timedelta(seconds=lease_seconds)
    event = encode({"id": delivery.event_id, "source": f"/streamfn/channels/{webhook.user_id}",
                    "type": delivery.event_type, "time": delivery.occurred_at.isoformat(),
                    **({"subject": delivery.subject} if delivery.subject else {})})
    headers = {**event, "User-Agent": "streamfn-webhooks/1", "X-Streamfn-Webhook-Id": str(webhook.id),
               "X-Streamfn-Delivery-Id": str(delivery.id)}
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    return Attempt(delivery.id, webhook.url, webhook.secret, headers, body)


def attempt(attempt: Attempt, settings: Settings) -> Outcome:
    """One attempt. Whatever goes wrong (a refused address, a URL the client cannot send,
    the receiver) is a failed attempt with its reason."""
    try:
        target = resolve(attempt.target_url, allow_private=settings.webhook_allow_private_addresses)
        now = int(time.time())
        headers = {**attempt.headers, SIGNATURE_HEADER: signature(attempt.secret, now, attempt.body),
                   **standard_signature(attempt.secret, attempt.headers["ce-id"], now, attempt.body)}
        span = trace.current()
        if span is not None:  # the receiver may continue the trace (W3C Trace Context)
            headers["traceparent"] = span.traceparent
        return post(target, headers, attempt.body, timeout=settings.webhook_timeout_seconds)
    except UnsafeUrl as refused:
        return Outcome(False, None, refused.message)
    except Exception as exc:  # noqa: BLE001 - a failed attempt, never a stuck delivery
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])


def deliver_once(delivery_id: int, settings: Settings) -> None:
    """One attempt of one delivery: lease it, POST it, record the outcome, in transactions
    of their own so that none is held open while someone else's server answers."""
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        leased = lease(uow, delivery_id, lease_seconds=settings.webhook_timeout_seconds + 30)
        uow.commit()
    if leased is None:
        return
    outcome = attempt(leased, settings)
    with UnitOfWork() as uow:
        settle(uow, leased.delivery_id, outcome, settings)
        uow.commit()


def settle(uow: UnitOfWork, delivery_id: int, outcome: Outcome, settings: Settings) -> None:
    """Write down how an attempt went; a receiver failing for too long is disabled."""
    delivery = uow.webhooks.delivery(delivery_id, lock=True)
    webhook = uow.webhooks.lock(delivery.webhook_id) if delivery is not None else None
    if delivery is None or webhook is None:
        return  # deleted meanwhile, with its webhook
    now = datetime.now(UTC)
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.leased_until = now, None
    delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        webhook.failing_since = None
        return
    webhook.failing_since = webhook.failing_since or now
    failing_for = (now - webhook.failing_since).total_seconds()
    if failing_for >= settings.webhook_disable_after_seconds:
        webhook.status, webhook.disabled_at = WebhookStatus.DISABLED, now
        webhook.disabled_reason = (
            f"Disabled after failing for {_span(failing_for)} since "
            f"{webhook.failing_since:%Y-%m-%d %H:%M} UTC; last attempt: {outcome.error}.")
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        uow.webhooks.give_up_pending(webhook.id, "the webhook was disabled")
    elif delivery.attempts >= settings.webhook_max_attempts:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts, settings)


def _span(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.0f} hours"
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


def requeue_due(uow: UnitOfWork, *, limit: int = 500) -> list[OutboxEvent]:
    """Ask for another attempt of every pending delivery now due (the retry schedule)."""
    now = datetime.now(UTC)
    requests = []
    for delivery in uow.webhooks.due(now=now, limit=limit):
        # Not again before this attempt has had its chance.
        delivery.next_attempt_at = now + timedelta(minutes=2)
        requests.append(request_attempt(uow, delivery.id))
    return requests
