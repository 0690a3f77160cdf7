"""The outbox: a change is never committed without its event, nor an event sent for a change
that rolled back.

Functions with a database never send an event they have not first recorded: `record`
writes it into the outbox in the same transaction as the change it announces, the unit of
work's commit then `deliver`s it, and the relay-outbox schedule sends whatever a failed
send left behind. (The ingest sidecar, which has no database, sends directly, retrying
under one event id.)
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from shared_lib.events.sending import binary_headers, send

if TYPE_CHECKING:
    from shared_lib.db import UnitOfWork
    from shared_lib.events.models import OutboxEvent


RELAY_AFTER_SECONDS = 10


def record(uow: UnitOfWork, *, type: str, source: str, subject: str | None,
           data: dict[str, Any]) -> OutboxEvent:
    """Write an event into the outbox, in the caller's transaction; the unit of work sends it
    after its commit, and the relay-outbox schedule if that send fails."""
    from shared_lib.events.models import OutboxEvent

    event = OutboxEvent(id=str(uuid.uuid4()), type=type, source=source, subject=subject,
                        data=json.loads(json.dumps(data, default=str)))
    uow.session.add(event)
    uow.recorded.append(event)
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
