"""Outgoing webhooks: create, list, delete and read the delivery log; the event functions that
queue deliveries for stream started, stream ended and new follower; deliver-webhook, which
makes one attempt; and the schedule that retries."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from shared_lib.catalog import Scaling
from shared_lib.config import get_settings
from shared_lib.events.types import EventType, data_of
from shared_lib.http import PageQuery, Reply, event_function, http_function, scheduled_function
from shared_lib.webhooks import log, queue
from shared_lib.webhooks.shapes import (
    CreatedWebhook,
    DeliveryPage,
    NewWebhook,
    WebhookList,
    WebhookView,
)

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork

# An attempt waits on someone else's server (STREAMFN_WEBHOOK_TIMEOUT_SECONDS at most).
DELIVERY = Scaling(max_scale=10, concurrency=10, timeout_seconds=30)


@http_function("POST /api/webhooks", body=NewWebhook, auth="user", response=CreatedWebhook,
               status=201)
def create_webhook(body: NewWebhook, account: User, uow: UnitOfWork) -> Reply:
    """Register a receiver for your channel's events. The signing secret is in this answer
    only."""
    webhook, secret = queue.create(uow, account.id, url=body.url,
                                   events=list(dict.fromkeys(body.events)))
    created = CreatedWebhook(**WebhookView.of(webhook).model_dump(), secret=secret)
    return Reply(created.model_dump(mode="json"), status=201, headers={"Cache-Control": "no-store"})


@http_function("GET /api/webhooks", auth="user", response=WebhookList)
def list_webhooks(account: User, uow: UnitOfWork) -> WebhookList:
    """Your webhooks, with their status (and why one was disabled)."""
    return log.webhooks_of(uow, account)


@http_function("DELETE /api/webhooks/{id}", auth="user", status=204)
def delete_webhook(id: uuid.UUID, account: User, uow: UnitOfWork) -> None:
    """Delete one of your webhooks; nothing more is sent to it."""
    uow.session.delete(queue.owned(uow, account.id, id))


@http_function("GET /api/webhooks/{id}/deliveries", query=PageQuery, auth="user",
               response=DeliveryPage)
def list_webhook_deliveries(id: uuid.UUID, query: PageQuery, account: User,
                            uow: UnitOfWork) -> DeliveryPage:
    """A webhook's delivery log, newest first: each event, its attempts and status codes."""
    return log.deliveries(uow, account, id, query)


@event_function(EventType.STREAM_STARTED)
def webhooks_stream_started(event: CloudEvent, uow: UnitOfWork) -> None:
    """Queue a delivery of a go-live to the channel's webhooks."""
    queue.enqueue(uow, event)


@event_function(EventType.STREAM_ENDED)
def webhooks_stream_ended(event: CloudEvent, uow: UnitOfWork) -> None:
    """Queue a delivery of a stream's end to the channel's webhooks."""
    queue.enqueue(uow, event)


@event_function(EventType.USER_FOLLOWED)
def webhooks_user_followed(event: CloudEvent, uow: UnitOfWork) -> None:
    """Queue a delivery of a new follower to the channel's webhooks."""
    queue.enqueue(uow, event)


@event_function(EventType.WEBHOOK_DELIVERY, scaling=DELIVERY, claim=False)
def deliver_webhook(event: CloudEvent) -> None:
    """One attempt of one delivery: lease it, POST the signed CloudEvent, record the
    outcome. Always acknowledged: retries are the schedule's, with their own backoff, so a
    dead receiver never ties up the broker."""
    delivery_id = data_of(event).get("delivery_id")
    if isinstance(delivery_id, int):
        queue.deliver_once(delivery_id, get_settings())


@scheduled_function("* * * * *")
def retry_webhook_deliveries(uow: UnitOfWork) -> None:
    """Ask for another attempt of every webhook delivery whose backoff has passed."""
    queue.requeue_due(uow)
