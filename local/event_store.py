"""The broker's durable queue in PostgreSQL (tables `broker_events`, `broker_deliveries`).

The ingress `put`s an event and only then answers 202. The dispatcher `route`s each new
event to one delivery row per matching Trigger, `lease`s the deliveries that are due, and
ends each with `done` or `retry`. Everything survives a crash of the platform: a lease
held by a dispatcher that died is released when the next one starts (`release_all`), so
an event is delivered at least once, and the consumers' idempotency makes that once.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

_PUT = text(
    "INSERT INTO broker_events (queue, event_type, subscriber, headers, body) "
    "VALUES (:queue, :type, :subscriber, :headers, :body) RETURNING id"
).bindparams(bindparam("headers", type_=JSONB))




@functools.lru_cache(maxsize=64)
def _put_many(count: int):
    """One INSERT of `count` events (a statement per count, each prepared once)."""
    rows = ", ".join(f"(:queue, :type{i}, NULL, :headers{i}, :body{i})" for i in range(count))
    return text(f"INSERT INTO broker_events (queue, event_type, subscriber, headers, body) "
                f"VALUES {rows}").bindparams(*(bindparam(f"headers{i}", type_=JSONB) for i in range(count)))


@dataclass(frozen=True)
class Leased:
    id: int
    subscriber: str
    attempts: int
    headers: dict[str, str]
    body: bytes


def _engine():
    from shared_lib.db import get_engine

    return get_engine()


class EventStore:
    """The queue named `queue` (one per platform; tests run several on one database)."""

    def __init__(self, queue: str = "default", engine_factory: Callable = _engine) -> None:
        self.queue = queue
        self._engine = engine_factory

    def purge(self) -> int:
        """Forget every event of this queue and its deliveries (a benchmark's sink that
        nothing drains, between runs); the number of events forgotten."""
        with self._engine().begin() as connection:
            return int(connection.execute(text("DELETE FROM broker_events WHERE queue = :queue"),
                                          {"queue": self.queue}).rowcount)

    def put(self, headers: dict[str, str], body: bytes, *, subscriber: str | None = None) -> int:
        with self._engine().begin() as connection:
            return connection.execute(_PUT, {
                "queue": self.queue, "type": headers.get("ce-type", "")[:200], "subscriber": subscriber,
                "headers": headers, "body": body,
            }).scalar_one()

    def put_many(self, events: Sequence[tuple[dict[str, str], bytes]]) -> None:
        """Store `events` together, in one statement: all of them or, when it fails, none."""
        if not events:
            return
        parameters: dict[str, object] = {"queue": self.queue}
        for i, (headers, body) in enumerate(events):
            parameters |= {f"type{i}": headers.get("ce-type", "")[:200], f"headers{i}": headers,
                           f"body{i}": body}
        with self._engine().begin() as connection:
            connection.execute(_put_many(len(events)), parameters)

    def route(self, subscribers_of: Callable[[str], list[str]], *, limit: int = 200,
              accepted: Callable[[str], None] | None = None) -> int:
        """Give each new event one delivery per subscriber; the number of events routed.
        `accepted(subscriber)` is told of each delivery made."""
        with self._engine().begin() as connection:
            events = connection.execute(text(
                "SELECT id, event_type, subscriber FROM broker_events WHERE queue = :queue "
                "AND NOT routed ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"),
                {"queue": self.queue, "limit": limit}).all()
            if not events:
                return 0
            rows = [{"event": event.id, "queue": self.queue, "subscriber": name} for event in events
                    for name in ([event.subscriber] if event.subscriber
                                 else subscribers_of(event.event_type))]
            if rows:
                connection.execute(text(
                    "INSERT INTO broker_deliveries (event_id, queue, subscriber) "
                    "VALUES (:event, :queue, :subscriber) ON CONFLICT DO NOTHING"), rows)
            for row in rows if accepted is not None else ():
                accepted(row["subscriber"])
            ids = [event.id for event in events]
            connection.execute(text("UPDATE broker_events SET routed = true WHERE id = ANY(:ids)"),
                               {"ids": ids})
            connection.execute(text(
                "DELETE FROM broker_events e WHERE id = ANY(:ids) AND NOT EXISTS "
                "(SELECT 1 FROM broker_deliveries d WHERE d.event_id = e.id)"), {"ids": ids})
            return len(events)

    def lease(self, limit: int) -> list[Leased]:
        if limit <= 0:
            return []
        with self._engine().begin() as connection:
            rows = connection.execute(text(
                "WITH picked AS (UPDATE broker_deliveries SET leased = true WHERE id IN ("
                "  SELECT id FROM broker_deliveries WHERE queue = :queue AND NOT leased "
                "  AND due_at <= now() ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED) "
                "  RETURNING id, event_id, subscriber, attempts) "
                "SELECT p.id, p.subscriber, p.attempts, e.headers, e.body "
                "FROM picked p JOIN broker_events e ON e.id = p.event_id ORDER BY p.id"),
                {"queue": self.queue, "limit": limit}).all()
        return [Leased(row.id, row.subscriber, row.attempts,
                       row.headers if isinstance(row.headers, dict) else json.loads(row.headers),
                       bytes(row.body)) for row in rows]

    def done(self, delivery_id: int) -> None:
        with self._engine().begin() as connection:
            event = connection.execute(text(
                "DELETE FROM broker_deliveries WHERE id = :id RETURNING event_id"),
                {"id": delivery_id}).scalar()
            if event is not None:
                connection.execute(text(
                    "DELETE FROM broker_events e WHERE id = :event AND NOT EXISTS "
                    "(SELECT 1 FROM broker_deliveries d WHERE d.event_id = e.id)"), {"event": event})

    def retry(self, delivery_id: int, *, attempts: int, delay: float, error: str) -> None:
        with self._engine().begin() as connection:
            connection.execute(text(
                "UPDATE broker_deliveries SET attempts = :attempts, leased = false, "
                "due_at = now() + make_interval(secs => :delay), last_error = :error "
                "WHERE id = :id"),
                {"id": delivery_id, "attempts": attempts, "delay": delay, "error": error[:2000]})

    def release_all(self) -> int:
        """Leases of a dispatcher that is gone (one platform per database)."""
        with self._engine().begin() as connection:
            return connection.execute(text(
                "UPDATE broker_deliveries SET leased = false WHERE queue = :queue AND leased"),
                {"queue": self.queue}).rowcount

    def next_due(self) -> float | None:
        """Seconds until the next delivery is due (0 when one is), None when none waits."""
        with self._engine().connect() as connection:
            return connection.execute(text(
                "SELECT greatest(0, extract(epoch FROM min(due_at) - now()))::float8 "
                "FROM broker_deliveries WHERE queue = :queue AND NOT leased"),
                {"queue": self.queue}).scalar()

    def pending(self) -> int:
        """Events not yet routed plus deliveries not yet ended."""
        with self._engine().connect() as connection:
            return connection.execute(text(
                "SELECT (SELECT count(*) FROM broker_events WHERE queue = :queue AND NOT routed) "
                "+ (SELECT count(*) FROM broker_deliveries WHERE queue = :queue)"),
                {"queue": self.queue}).scalar_one()
