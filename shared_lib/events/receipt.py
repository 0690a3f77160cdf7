"""Reading a CloudEvent off a request, binary or structured mode."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from shared_lib.errors import InvalidInput

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent



log = logging.getLogger(__name__)


def parse_event(headers: Any, body: bytes) -> CloudEvent:
    """A CloudEvent from a request in binary or structured mode, or InvalidInput."""
    from cloudevents.exceptions import GenericException
    from cloudevents.http import from_http

    try:
        event = from_http(dict(headers), body)
    except (GenericException, ValueError, TypeError) as exc:
        raise InvalidInput("The request is not a valid CloudEvent.", details=[str(exc)]) from None
    for required in ("id", "source", "type"):
        if not event.get(required):
            raise InvalidInput(f"The CloudEvent has no {required}.")
    return event
