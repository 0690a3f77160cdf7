"""What the local broker delivers to: a Trigger (its filter and its subscriber's send), its
Knative `delivery` block, and how one attempt's answer turns out."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

Response = tuple[int, dict[str, str], bytes]
Send = Callable[[dict[str, str], bytes], Response]

RETRYABLE_4XX = {404, 408, 409, 429}


@dataclass(frozen=True)
class Delivery:
    """Knative's `delivery` block: retry count and exponential backoff from `backoff_delay`."""

    retry: int = 3
    backoff_delay: float = 0.2
    timeout: float = 30.0


@dataclass(frozen=True)
class Trigger:
    name: str
    event_type: str | None
    send: Send
    # A schedule's subscriber: it takes only the pings addressed to it, as a PingSource's
    # sink does, never events by type.
    direct: bool = False

    def matches(self, event_type: str) -> bool:
        return not self.direct and (self.event_type is None or self.event_type == event_type)


def outcome(response: Response) -> tuple[bool, bool, str]:
    """(delivered, retryable, reason) for one attempt's response."""
    status, headers, body = response
    lowered = {k.lower(): v for k, v in headers.items()}
    if 200 <= status < 300:
        is_event = "ce-id" in lowered or lowered.get("content-type", "").startswith(
            "application/cloudevents"
        )
        if not body or is_event:
            return True, False, ""
        return False, True, f"{status} with a body that is not a CloudEvent"
    return False, status >= 500 or status in RETRYABLE_4XX, f"answered {status}{_said(body)}"


def _said(body: bytes) -> str:
    """The message of a JSON error body, so a dead letter says why (e.g. ffmpeg's reason)."""
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, TypeError, KeyError):
        return ""
    return f": {str(message)[:500]}"


def http_send(port: int, path: str = "/", timeout: float = 30.0, token=None):
    """POST a binary-mode event to whatever listens on 127.0.0.1:`port`, with the bearer
    token `token()` gives (the subscriber's audience), if any."""

    from shared_lib import outbound

    url = f"http://127.0.0.1:{port}{path}"

    def send(headers: dict[str, str], body: bytes):
        authorization = {"Authorization": f"Bearer {token()}"} if token else {}
        response = outbound.client().post(url, content=body, headers={**headers, **authorization},
                                          timeout=timeout)
        return response.status_code, dict(response.headers), response.content

    return send
