"""The outbox: a change is never committed without its event, nor an event sent for a change
that rolled back.

Functions with a database never send an event they have not first recorded: `record`
writes it into the outbox in the same transaction as the change it announces, the unit of
work's commit then `deliver`s it, and the relay-outbox schedule sends whatever a failed
send left behind. (The ingest sidecar, which has no database, sends directly, retrying
under one event id.)
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from shared_lib.events.sending import binary_headers, send
from shared_lib.observability import trace

if TYPE_CHECKING:
    from shared_lib.db import UnitOfWork
    from shared_lib.events.models import OutboxEvent


RELAY_AFTER_SECONDS = 10
LINGER_SECONDS = 0.1  # sent events gathered before their rows are deleted together

log = logging.getLogger(__name__)


def record(uow: UnitOfWork, *, type: str, source: str, subject: str | None,
           data: dict[str, Any]) -> OutboxEvent:
    """Write an event into the outbox, in the caller's transaction; the unit of work sends it
    after its commit, and the relay-outbox schedule if that send fails."""
    from shared_lib.events.models import OutboxEvent

    span = trace.current()
    event = OutboxEvent(id=str(uuid.uuid4()), type=type, source=source, subject=subject,
                        data=json.loads(json.dumps(data, default=str)),
                        traceparent=span.traceparent if span else None)
    uow.outbox.add(event)
    uow.recorded.append(event)
    return event


def _send_outboxed(event: OutboxEvent) -> bool:
    headers = binary_headers(type=event.type, source=event.source, subject=event.subject,
                             event_id=event.id, traceparent=event.traceparent)
    return send(headers, event.data)


def deliver(events: list[Any]) -> None:
    """Send committed outbox events now; the ones the sink took are forgotten shortly after."""
    sent = [event.id for event in events if _send_outboxed(event)]
    if sent:
        _forgetting.add(sent)


def _remove(ids: list[str]) -> None:
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        uow.outbox.remove(ids)
        uow.commit()


class Forgetting:
    """The outbox rows of sent events, deleted by one thread per process in batches: a
    request's send does not wait on a second transaction, and the sends of `linger` seconds
    (or of a delete's time) cost one DELETE. A batch lost with the process means the relay
    sends those events again, which consumers ignore by id; the process's exit waits for the
    last batch."""

    def __init__(self, remove: Any = _remove, *, linger: float = LINGER_SECONDS) -> None:
        self._remove = remove
        self._linger = linger
        self._ids: list[str] = []
        self._busy = False
        self._hurry = False  # someone waits in flush(): no lingering
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, ids: list[str]) -> None:
        with self._changed:
            first = not self._ids
            self._ids.extend(ids)
            if self._thread is None or not self._thread.is_alive():  # first, or after a fork
                if self._thread is None:
                    atexit.register(self.flush)
                self._thread = threading.Thread(target=self._run, name="outbox-forgetting",
                                                daemon=True)
                self._thread.start()
            if first:
                self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._ids:
                    self._changed.wait()
                until = time.monotonic() + self._linger
                while not self._hurry and (left := until - time.monotonic()) > 0:
                    self._changed.wait(left)
                ids, self._ids, self._busy = self._ids, [], True
            try:
                self._remove(ids)
            except Exception as exc:  # the relay sends them again; consumers ignore repeats
                log.warning("could not forget %d sent outbox events: %s", len(ids), exc)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every sent event's row is deleted; False if `timeout` passed first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self._hurry = True
            self._changed.notify_all()
            try:
                while self._ids or self._busy:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._thread is None or not self._thread.is_alive():
                        return False
                    self._changed.wait(left)
            finally:
                self._hurry = False
        return True


_forgetting = Forgetting()
flush = _forgetting.flush


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
