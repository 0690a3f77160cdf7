"""Outgoing webhooks: create, list, delete and read the delivery log; the event functions that
queue deliveries for stream started, stream ended and new follower; deliver-webhook, which
makes one attempt; and the schedule that retries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared_lib.catalog import Scaling
from shared_lib.events import EventType, data_of
from shared_lib.http import Reply, event_function, http_function, scheduled_function
from shared_lib.pagination import PageQuery
from shared_lib.schemas import Page, Request
from shared_lib.security import AccessClaims

EventName = Literal["stream.started", "stream.ended", "user.followed"]
# An attempt waits on someone else's server (STREAMFN_WEBHOOK_TIMEOUT_SECONDS at most).
DELIVERY = Scaling(max_scale=10, concurrency=10, timeout_seconds=30)


class NewWebhook(Request):
    url: str = Field(min_length=1, max_length=2000)
    events: list[EventName] = Field(default=["stream.started", "stream.ended", "user.followed"],
                                    min_length=1, max_length=3)


class WebhookView(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    status: str
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, webhook) -> WebhookView:
        return cls(id=webhook.id, url=webhook.url, events=list(webhook.events),
                   status=webhook.status, failing_since=webhook.failing_since,
                   disabled_at=webhook.disabled_at, disabled_reason=webhook.disabled_reason,
                   created_at=webhook.created_at)


class CreatedWebhook(WebhookView):
    secret: str


class WebhookList(BaseModel):
    items: list[WebhookView]


class DeliveryView(BaseModel):
    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, delivery) -> DeliveryView:
        return cls(**{name: getattr(delivery, name) for name in cls.model_fields})


class DeliveryPage(Page[DeliveryView]):
    pass


@http_function("POST /api/webhooks", body=NewWebhook, auth="user", response=CreatedWebhook,
               status=201)
def create_webhook(body: NewWebhook, user: AccessClaims) -> Reply:
    """Register a receiver for your channel's events. The signing secret is in this answer
    only."""
    from shared_lib.db import UnitOfWork
    from shared_lib.webhooks import queue as webhooks

    with UnitOfWork() as uow:
        webhook, secret = webhooks.create(uow, user.user_id, url=body.url,
                                          events=list(dict.fromkeys(body.events)))
        uow.commit()
        created = CreatedWebhook(**WebhookView.of(webhook).model_dump(), secret=secret)
    return Reply(created.model_dump(mode="json"), status=201, headers={"Cache-Control": "no-store"})


@http_function("GET /api/webhooks", auth="user", response=WebhookList)
def list_webhooks(user: AccessClaims) -> WebhookList:
    """Your webhooks, with their status (and why one was disabled)."""
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        return WebhookList(items=[WebhookView.of(w) for w in uow.webhooks.of_user(user.user_id)])


@http_function("DELETE /api/webhooks/{id}", auth="user", status=204)
def delete_webhook(id: str, user: AccessClaims) -> None:
    """Delete one of your webhooks; nothing more is sent to it."""
    from shared_lib.db import UnitOfWork
    from shared_lib.webhooks import queue as webhooks

    with UnitOfWork() as uow:
        uow.session.delete(webhooks.owned(uow, user.user_id, id))
        uow.commit()


@http_function("GET /api/webhooks/{id}/deliveries", query=PageQuery, auth="user",
               response=DeliveryPage)
def list_webhook_deliveries(id: str, query: PageQuery, user: AccessClaims) -> DeliveryPage:
    """A webhook's delivery log, newest first: each event, its attempts and status codes."""
    from shared_lib.db import UnitOfWork
    from shared_lib.pagination import decode_cursor, page_of
    from shared_lib.webhooks import queue as webhooks

    before = decode_cursor(query.cursor, int)
    with UnitOfWork() as uow:
        webhook = webhooks.owned(uow, user.user_id, id)
        rows = uow.webhooks.deliveries(webhook.id, before=before[0] if before else None,
                                       limit=query.limit + 1)
        rows, cursor = page_of(rows, query.limit, lambda delivery: (delivery.id,))
        return DeliveryPage(items=[DeliveryView.of(d) for d in rows], next_cursor=cursor)


def _queue(event, uow) -> None:
    from shared_lib.events import deliver
    from shared_lib.webhooks import queue as webhooks

    requests = webhooks.enqueue(uow, event)
    uow.commit()
    deliver(requests)


@event_function(EventType.STREAM_STARTED)
def webhooks_stream_started(event, uow) -> None:
    """Queue a delivery of a go-live to the channel's webhooks."""
    _queue(event, uow)


@event_function(EventType.STREAM_ENDED)
def webhooks_stream_ended(event, uow) -> None:
    """Queue a delivery of a stream's end to the channel's webhooks."""
    _queue(event, uow)


@event_function(EventType.USER_FOLLOWED)
def webhooks_user_followed(event, uow) -> None:
    """Queue a delivery of a new follower to the channel's webhooks."""
    _queue(event, uow)


@event_function(EventType.WEBHOOK_DELIVERY, scaling=DELIVERY, claim=False)
def deliver_webhook(event) -> None:
    """One attempt of one delivery: lease it, POST the signed CloudEvent, record the
    outcome. Always acknowledged: retries are the schedule's, with their own backoff, so a
    dead receiver never ties up the broker."""
    from shared_lib.config import get_settings
    from shared_lib.db import UnitOfWork
    from shared_lib.webhooks import queue as webhooks

    data = data_of(event)
    if not isinstance(data.get("delivery_id"), int):
        return
    settings = get_settings()
    with UnitOfWork() as uow:
        attempt = webhooks.lease(uow, data["delivery_id"],
                                 lease_seconds=settings.webhook_timeout_seconds + 30)
        uow.commit()
    if attempt is None:
        return
    outcome = webhooks.attempt(attempt, settings)
    with UnitOfWork() as uow:
        webhooks.settle(uow, attempt.delivery_id, outcome, settings)
        uow.commit()


@scheduled_function("* * * * *")
def retry_webhook_deliveries() -> None:
    """Ask for another attempt of every webhook delivery whose backoff has passed."""
    from shared_lib.db import UnitOfWork
    from shared_lib.events import deliver
    from shared_lib.webhooks import queue as webhooks

    with UnitOfWork() as uow:
        requests = webhooks.requeue_due(uow)
        uow.commit()
    deliver(requests)
