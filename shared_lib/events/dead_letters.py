"""Dead letters: events a subscriber never accepted, kept in PostgreSQL to list and replay.

The local broker writes them directly; on a cluster, Knative delivers them to the
store-dead-letter function, which writes the same rows.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared_lib import errors

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared_lib.db import UnitOfWork
    from shared_lib.events.models import DeadLetter
    from shared_lib.http.paging import PageQuery


def store(uow: UnitOfWork, *, subscriber: str, headers: dict[str, Any], body: bytes, reason: str,
          attempts: int) -> None:
    lowered = {key.lower(): value for key, value in headers.items()}
    uow.dead_letters.create(
        subscriber=subscriber[:100],
        event_type=lowered.get("ce-type", "")[:200],
        event_source=lowered.get("ce-source", "")[:500],
        event_id=lowered.get("ce-id", "")[:200],
        headers=lowered,
        body=body,
        reason=reason[:2000],
        attempts=attempts,
    )


def store_from_knative(uow: UnitOfWork, event: CloudEvent) -> None:
    """Keep an event Knative's dead-letter sink received, with Knative's reason for it."""
    attributes = event.get_attributes()
    error = attributes.get("knativeerrordata", "")
    try:
        error = base64.b64decode(error).decode("utf-8", "replace") if error else ""
    except ValueError:
        pass
    reason = f"{attributes.get('knativeerrorcode', '?')} {error}".strip()
    headers = {f"ce-{name}": str(value) for name, value in attributes.items()}
    headers["content-type"] = attributes.get("datacontenttype") or "application/json"
    data = event.get_data()
    body = data if isinstance(data, bytes) else json.dumps(data).encode() if data is not None else b""
    store(uow, subscriber=str(attributes.get("knativeerrordest", "unknown")), headers=headers,
          body=body, reason=reason, attempts=0)


def listing(uow: UnitOfWork, query: PageQuery) -> dict[str, Any]:
    """The newest dead letters not yet replayed, a page at a time."""
    before = query.after(int)
    letters = uow.dead_letters.list(limit=query.fetch, before=before[0] if before else None)
    letters, cursor = query.page(letters, lambda letter: (letter.id,))
    return {"items": [view(letter) for letter in letters], "next_cursor": cursor}


def view(letter: DeadLetter) -> dict[str, Any]:
    return {"id": letter.id, "subscriber": letter.subscriber, "type": letter.event_type,
            "source": letter.event_source, "event_id": letter.event_id, "reason": letter.reason,
            "attempts": letter.attempts, "created_at": letter.created_at.isoformat(),
            "replayed_at": letter.replayed_at.isoformat() if letter.replayed_at else None}


def replay(uow: UnitOfWork, letter_id: int) -> DeadLetter:
    """Send a dead letter back to the broker (K_SINK) with its original id and attributes."""
    from shared_lib.events.sending import send

    letter = uow.dead_letters.get(letter_id)
    if letter is None:
        raise errors.NotFound("No such dead letter.")
    headers = {key: value for key, value in letter.headers.items()
               if (key.startswith("ce-") and not key.startswith("ce-knativeerror"))
               or key == "content-type"}
    try:
        data = json.loads(letter.body) if letter.body else {}
    except ValueError:
        data = letter.body.decode("utf-8", "replace")
    if not send(headers, data):
        raise errors.DependencyUnavailable("The broker did not take the event. Try again shortly.")
    letter.replayed_at = datetime.now(UTC)
    return letter
