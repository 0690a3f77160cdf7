"""Webhooks' data: a channel's endpoints, and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from shared_lib.repositories import SqlRepository, affected
from shared_lib.statuses import DeliveryStatus, WebhookStatus
from shared_lib.webhooks.models import Webhook, WebhookDelivery


class SqlWebhookRepository(SqlRepository[Webhook]):
    model = Webhook

    def of_user(self, user_id: uuid.UUID) -> list[Webhook]:
        return list(self.session.scalars(select(Webhook).where(Webhook.user_id == user_id)
                                         .order_by(Webhook.created_at, Webhook.id)))

    def subscribed(self, channel_id: uuid.UUID, event: str) -> list[Webhook]:
        return list(self.session.scalars(select(Webhook).where(
            Webhook.user_id == channel_id, Webhook.status == WebhookStatus.ACTIVE,
            Webhook.events.any(event))))  # type: ignore[arg-type]  # ARRAY's any(), not a relationship's

    def lock(self, webhook_id: uuid.UUID) -> Webhook | None:
        return self.session.scalar(select(Webhook).where(Webhook.id == webhook_id)
                                   .with_for_update())

    def add_delivery(self, **values: Any) -> int | None:
        """The new delivery's id, or None if this event was already queued for the webhook."""
        statement = (insert(WebhookDelivery).values(**values)
                     .on_conflict_do_nothing(constraint="uq_delivery_once")
                     .returning(WebhookDelivery.id))
        return self.session.scalar(statement)

    def delivery(self, delivery_id: int, *, lock: bool = False) -> WebhookDelivery | None:
        query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
        return self.session.scalar(query.with_for_update() if lock else query)

    def deliveries(self, webhook_id: uuid.UUID, *, before: int | None,
                   limit: int) -> list[WebhookDelivery]:
        query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
        if before is not None:
            query = query.where(WebhookDelivery.id < before)
        return list(self.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))

    def due(self, *, now: datetime, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries whose next attempt is due, locked for this caller only."""
        query = (select(WebhookDelivery)
                 .where(WebhookDelivery.status == DeliveryStatus.PENDING,
                        WebhookDelivery.next_attempt_at <= now)
                 .order_by(WebhookDelivery.next_attempt_at).limit(limit)
                 .with_for_update(skip_locked=True))
        return list(self.session.scalars(query))

    def give_up_pending(self, webhook_id: uuid.UUID, reason: str) -> int:
        statement = (update(WebhookDelivery)
                     .where(WebhookDelivery.webhook_id == webhook_id,
                            WebhookDelivery.status == DeliveryStatus.PENDING)
                     .values(status=DeliveryStatus.FAILED, last_error=reason, next_attempt_at=None))
        return affected(self.session.execute(statement))
