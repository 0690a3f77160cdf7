"""Webhooks as their owner sees them: registering one, the list, and the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from shared_lib.http.paging import Page
from shared_lib.http.requests import Request, Shape

if TYPE_CHECKING:
    from shared_lib.webhooks.models import Webhook, WebhookDelivery

EventName = Literal["stream.started", "stream.ended", "user.followed"]


class NewWebhook(Request):
    url: str = Field(min_length=1, max_length=2000)
    events: list[EventName] = Field(default=["stream.started", "stream.ended", "user.followed"],
                                    min_length=1, max_length=3)


class WebhookView(Shape):
    id: uuid.UUID
    url: str
    events: list[str]
    status: str
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookView:
        return cls(id=webhook.id, url=webhook.url, events=list(webhook.events),
                   status=webhook.status, failing_since=webhook.failing_since,
                   disabled_at=webhook.disabled_at, disabled_reason=webhook.disabled_reason,
                   created_at=webhook.created_at)


class CreatedWebhook(WebhookView):
    secret: str


class WebhookList(Shape):
    items: list[WebhookView]


class DeliveryView(Shape):
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
    def of(cls, delivery: WebhookDelivery) -> DeliveryView:
        return cls(**{name: getattr(delivery, name) for name in cls.model_fields})


class DeliveryPage(Page[DeliveryView]):
    pass
