"""Dead letters: events a subscriber never accepted, kept in PostgreSQL to list and replay.

The local broker writes them directly; on a cluster, Knative delivers them to the
store-dead-letter function, which writes the same rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared_lib.models import DeadLetter

if TYPE_CHECKING:
    from shared_lib.db import UnitOfWork


def store(uow: UnitOfWork, *, subscriber: str, headers: dict[str, Any], body: bytes, reason: str,
          attempts: int) -> None:
    lowered = {key.lower(): value for key, value in headers.items()}
    uow.dead_letters.add(DeadLetter(
        subscriber=subscriber[:100],
        event_type=lowered.get("ce-type", "")[:200],
        event_source=lowered.get("ce-source", "")[:500],
        event_id=lowered.get("ce-id", "")[:200],
        headers=lowered,
        body=body,
        reason=reason[:2000],
        attempts=attempts,
    ))


def view(letter: DeadLetter) -> dict[str, Any]:
    return {"id": letter.id, "subscriber": letter.subscriber, "type": letter.event_type,
            "source": letter.event_source, "event_id": letter.event_id, "reason": letter.reason,
            "attempts": letter.attempts, "created_at": letter.created_at.isoformat(),
            "replayed_at": letter.replayed_at.isoformat() if letter.replayed_at else None}


def replay(uow: UnitOfWork, letter_id: int) -> DeadLetter | None:
    """Send a dead letter back to the broker (K_SINK) with its original id and attributes."""
    from shared_lib.events import send

    letter = uow.dead_letters.get(letter_id)
    if letter is None:
        return None
    headers = {key: value for key, value in letter.headers.items()
               if (key.startswith("ce-") and not key.startswith("ce-knativeerror"))
               or key == "content-type"}
    try:
        data = json.loads(letter.body) if letter.body else {}
    except ValueError:
        data = letter.body.decode("utf-8", "replace")
    if not send(headers, data):
        from shared_lib.errors import DependencyUnavailable

        raise DependencyUnavailable("The broker did not take the event. Try again shortly.")
    letter.replayed_at = datetime.now(UTC)
    return letter
