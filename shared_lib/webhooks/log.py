"""What a webhook's owner reads: their webhooks, and one webhook's delivery log."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from shared_lib.webhooks.queue import owned
from shared_lib.webhooks.shapes import DeliveryPage, DeliveryView, WebhookList, WebhookView

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork
    from shared_lib.http.paging import PageQuery


def webhooks_of(uow: UnitOfWork, account: User) -> WebhookList:
    return WebhookList(items=[WebhookView.of(w) for w in uow.webhooks.of_user(account.id)])


def deliveries(uow: UnitOfWork, account: User, webhook_id: uuid.UUID,
               query: PageQuery) -> DeliveryPage:
    """A webhook's deliveries, newest first."""
    webhook = owned(uow, account.id, webhook_id)
    before = query.after(int)
    rows = uow.webhooks.deliveries(webhook.id, before=before[0] if before else None,
                                   limit=query.fetch)
    rows, cursor = query.page(rows, lambda delivery: (delivery.id,))
    return DeliveryPage(items=[DeliveryView.of(d) for d in rows], next_cursor=cursor)
