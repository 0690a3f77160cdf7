"""Dead letters on a cluster: the sink Knative sends undeliverable events to, and the
internal functions an operator lists and replays them with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared_lib.events import dead_letters
from shared_lib.http import PageQuery, event_function, http_function

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared_lib.db import UnitOfWork


@event_function(None)
def store_dead_letter(event: CloudEvent, uow: UnitOfWork) -> None:
    """Keep an event no subscriber accepted (any type), with Knative's reason for it."""
    dead_letters.store_from_knative(uow, event)


@http_function("GET /internal/dead-letters", query=PageQuery, auth="internal")
def list_dead_letters(query: PageQuery, uow: UnitOfWork) -> dict[str, Any]:
    """The newest dead letters not yet replayed."""
    return dead_letters.listing(uow, query)


@http_function("POST /internal/dead-letters/{letter_id}/replay", auth="internal")
def replay_dead_letter(letter_id: int, uow: UnitOfWork) -> dict[str, Any]:
    """Send a dead letter back through the broker, with its original id."""
    return dead_letters.view(dead_letters.replay(uow, letter_id))
