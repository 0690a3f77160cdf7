"""CloudEvent types, emitting to K_SINK in binary mode, and reading one off a request.

Knative's SinkBinding (or the local runner) sets K_SINK to the broker and may set
K_CE_OVERRIDES to `{"extensions": {...}}`, which every emitted event must carry.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from typing import Any

from shared_lib.config import get_settings
from shared_lib.errors import InvalidInput

log = logging.getLogger(__name__)


class EventType:
    STREAM_STARTED = "dev.streamfn.stream.started"
    STREAM_ENDED = "dev.streamfn.stream.ended"
    USER_FOLLOWED = "dev.streamfn.user.followed"
    USER_UNFOLLOWED = "dev.streamfn.user.unfollowed"
    RECORDING_COMPLETED = "dev.streamfn.recording.completed"
    PING = "dev.knative.sources.ping"


EMIT_ATTEMPTS = 3


def binary_headers(
    *, type: str, source: str, subject: str | None = None, event_id: str | None = None
) -> dict[str, str]:
    """The ce-* headers of a binary-mode CloudEvent carrying JSON data."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event_id or str(uuid.uuid4()),
        "ce-source": source,
        "ce-type": type,
        "ce-time": datetime.now(timezone.utc).isoformat(),
        "content-type": "application/json",
    }
    if subject:
        headers["ce-subject"] = subject
    overrides = get_settings().k_ce_overrides
    if overrides:
        for name, value in json.loads(overrides).get("extensions", {}).items():
            headers[f"ce-{name.lower()}"] = str(value)
    return headers


def emit(*, type: str, source: str, subject: str | None, data: dict[str, Any]) -> str | None:
    """Send one event to K_SINK; returns its id, or None when there is no sink.

    Retries a few times on a network error or a 5xx; the broker itself retries delivery
    to subscribers, so this only has to get the event as far as the broker.
    """
    sink = get_settings().k_sink
    headers = binary_headers(type=type, source=source, subject=subject)
    if not sink:
        log.warning("K_SINK is not set; dropping %s %s", type, headers["ce-id"])
        return None
    body = json.dumps(data, default=str).encode("utf-8")
    for attempt in range(EMIT_ATTEMPTS):
        request = urllib.request.Request(sink, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status < 300:
                    return headers["ce-id"]
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                log.error("the sink refused %s %s with %s", type, headers["ce-id"], exc.code)
                return None
        except OSError:
            pass
        time.sleep(0.1 * 2**attempt)
    log.error("could not deliver %s %s to the sink", type, headers["ce-id"])
    return None


def parse_event(headers: Any, body: bytes):
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
