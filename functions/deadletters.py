"""Dead letters on a cluster: the sink Knative sends undeliverable events to, and the
internal functions an operator lists and replays them with."""

from __future__ import annotations

import base64

from shared_lib.http import event_function, http_function
from shared_lib.pagination import PageQuery


@event_function(None)
def store_dead_letter(event, uow) -> None:
    """Keep an event no subscriber accepted (any type), with Knative's reason for it."""
    import json

    from shared_lib import dead_letters

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
    dead_letters.store(uow, subscriber=str(attributes.get("knativeerrordest", "unknown")),
                       headers=headers, body=body, reason=reason, attempts=0)


@http_function("GET /internal/dead-letters", query=PageQuery, auth="internal")
def list_dead_letters(query: PageQuery) -> dict:
    """The newest dead letters not yet replayed."""
    from shared_lib import dead_letters
    from shared_lib.db import UnitOfWork
    from shared_lib.pagination import decode_cursor, page_of

    before = decode_cursor(query.cursor, int)
    with UnitOfWork() as uow:
        letters = uow.dead_letters.list(limit=query.limit + 1, before=before[0] if before else None)
        letters, cursor = page_of(letters, query.limit, lambda letter: (letter.id,))
        return {"items": [dead_letters.view(letter) for letter in letters], "next_cursor": cursor}


@http_function("POST /internal/dead-letters/{letter_id}/replay", auth="internal")
def replay_dead_letter(letter_id: str) -> dict:
    """Send a dead letter back through the broker, with its original id."""
    from shared_lib import dead_letters
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import NotFound

    if not letter_id.isdigit():
        raise NotFound("No such dead letter.")
    with UnitOfWork() as uow:
        letter = dead_letters.replay(uow, int(letter_id))
        if letter is None:
            raise NotFound("No such dead letter.")
        uow.commit()
        return dead_letters.view(letter)
