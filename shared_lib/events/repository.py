"""Events already processed (idempotent receive) and dead letters."""

from __future__ import annotations

import abc
from typing import cast

from sqlalchemy import Table, select, text, update
from sqlalchemy import insert as sql_insert
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared_lib.events.models import DeadLetter, OutboxEvent, ProcessedEvent
from shared_lib.pgwire import WITH_COMMIT
from shared_lib.repositories import SqlRepository, seconds_ago


class EventLog(abc.ABC):
    @abc.abstractmethod
    def claim(self, *, consumer: str, source: str, event_id: str, event_type: str) -> bool:
        """True the first time this consumer sees (source, id); False on a redelivery."""


class SqlEventLog(EventLog):
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, *, consumer: str, source: str, event_id: str, event_type: str) -> bool:
        statement = (
            insert(ProcessedEvent)
            .values(consumer=consumer, source=source, id=event_id, type=event_type)
            .on_conflict_do_nothing()
            .returning(ProcessedEvent.id)
        )
        return self.session.execute(statement).first() is not None


class SqlDeadLetterRepository(SqlRepository[DeadLetter]):
    model = DeadLetter

    def list(self, *, limit: int = 100, before: int | None = None,
             include_replayed: bool = False) -> list[DeadLetter]:
        query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
        if before is not None:
            query = query.where(DeadLetter.id < before)
        if not include_replayed:
            query = query.where(DeadLetter.replayed_at.is_(None))
        return list(self.session.scalars(query))


# Core, not an ORM flush; sent with the transaction's COMMIT, in one round trip (pgwire).
insert_outbox = sql_insert(cast(Table, OutboxEvent.__table__)).prefix_with(WITH_COMMIT)


class SqlOutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, event: OutboxEvent) -> None:
        """Write `event` in the session's transaction: one Core INSERT (the ORM's flush of a
        new row cost more than its statement), which travels with the COMMIT. Nothing in
        the transaction reads it back; if it fails, the commit fails."""
        self.session.execute(insert_outbox, {
            "id": event.id, "type": event.type, "source": event.source, "subject": event.subject,
            "data": event.data, "traceparent": event.traceparent})

    def pending(self, *, older_than_seconds: int, limit: int) -> list[OutboxEvent]:
        """The oldest unsent events, locked so that two relays never send the same batch."""
        cutoff = seconds_ago(older_than_seconds)
        query = (
            select(OutboxEvent)
            .where(OutboxEvent.created_at < cutoff)
            .order_by(OutboxEvent.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(query))

    def remove(self, ids: list[str]) -> None:
        """Forget sent events. This commit need not wait for the disk: if it is lost in a
        crash, the relay sends the events again, and consumers ignore the repeat."""
        if ids:
            self.session.execute(text("SET LOCAL synchronous_commit = off"))
            # One statement for any number of ids (an IN list is a new statement per count).
            self.session.execute(text("DELETE FROM outbox_events WHERE id = ANY(:ids)"),
                                 {"ids": list(ids)})

    def count_attempt(self, ids: list[str]) -> None:
        if ids:
            self.session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(ids))
                                 .values(attempts=OutboxEvent.attempts + 1))
