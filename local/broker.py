"""A local broker that behaves like Knative Eventing's: Triggers, retries, dead letters.

Ingress (`POST /`) takes a CloudEvent in binary or structured mode and answers 202, or
400 when it is not one. Each event goes, in binary mode, to every Trigger whose `type`
filter matches. A delivery succeeds on a 2xx with an empty body, or with a CloudEvent as
the body (a reply, which is published in turn). A 5xx, a 404/408/409/429, a network error,
or a 2xx with any other body (functions-framework's HTML "OK", say) is retried with
exponential backoff; after the retries, or at once for other 4xx, the event goes to the
dead-letter store in PostgreSQL, where an operator can list and replay it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)

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

    def matches(self, event_type: str) -> bool:
        return self.event_type is None or self.event_type == event_type


class DeadLetterStore:
    """Dead letters in PostgreSQL (the same table the cluster's dead-letter sink fills)."""

    def put(self, *, subscriber: str, headers: dict, body: bytes, reason: str, attempts: int) -> None:
        from shared_lib import dead_letters
        from shared_lib.db import UnitOfWork

        with UnitOfWork() as uow:
            dead_letters.store(uow, subscriber=subscriber, headers=headers, body=body,
                               reason=reason, attempts=attempts)
            uow.commit()


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


def to_binary(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    """Binary-mode headers and body for an event received in either mode."""
    from cloudevents.http import from_http, to_binary as encode

    event = from_http(headers, body)
    out_headers, out_body = encode(event)
    return {k.lower(): v for k, v in out_headers.items()}, out_body or b""


class Broker:
    def __init__(
        self,
        triggers: list[Trigger],
        *,
        delivery: Delivery = Delivery(),
        dead_letters: DeadLetterStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
        workers: int = 8,
    ) -> None:
        self.triggers = triggers
        self.delivery = delivery
        self.dead_letters = dead_letters or DeadLetterStore()
        self._sleep = sleep
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="broker")
        self._pending = 0
        self._idle = threading.Condition()

    def publish(self, headers: dict[str, str], body: bytes) -> int:
        """Queue an already-validated binary-mode event for every matching trigger."""
        matched = [t for t in self.triggers if t.matches(headers.get("ce-type", ""))]
        for trigger in matched:
            self.submit(trigger, headers, body)
        return len(matched)

    def submit(self, trigger: Trigger, headers: dict[str, str], body: bytes) -> None:
        with self._idle:
            self._pending += 1
        self._pool.submit(self._run, trigger, headers, body)

    def _run(self, trigger: Trigger, headers: dict[str, str], body: bytes) -> None:
        try:
            self.deliver(trigger, headers, body)
        except Exception:  # noqa: BLE001 - a broken store must not kill the worker
            log.exception("delivery to %s failed", trigger.name)
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def deliver(self, trigger: Trigger, headers: dict[str, str], body: bytes) -> bool:
        """Deliver with retries; dead-letter on failure. True when delivered."""
        attempts, reason = 0, ""
        for attempt in range(self.delivery.retry + 1):
            attempts += 1
            try:
                response = trigger.send(headers, body)
            except OSError as exc:
                delivered, retryable, reason = False, True, f"network error: {exc}"
            else:
                delivered, retryable, reason = outcome(response)
                if delivered:
                    self._publish_reply(response)
                    return True
            if not retryable or attempt == self.delivery.retry:
                break
            self._sleep(self.delivery.backoff_delay * 2**attempt)
        log.warning("dead-lettering %s %s for %s: %s", headers.get("ce-type"),
                    headers.get("ce-id"), trigger.name, reason)
        self.dead_letters.put(
            subscriber=trigger.name, headers=headers, body=body, reason=reason, attempts=attempts
        )
        return False

    def _publish_reply(self, response: Response) -> None:
        _, headers, body = response
        if body or any(k.lower() == "ce-id" for k in headers):
            try:
                self.publish(*to_binary(headers, body))
            except Exception:  # noqa: BLE001 - a malformed reply is the subscriber's bug
                log.warning("ignored a reply that is not a valid CloudEvent")

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued delivery has finished (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    # --- ingress ---------------------------------------------------------------------

    def ingress(self, environ, start_response):
        """WSGI: `POST /` takes one CloudEvent."""
        from werkzeug.wrappers import Request

        request = Request(environ)
        if request.method != "POST":
            return _json(start_response, 405, {"error": {"code": "method_not_allowed",
                         "message": "POST a CloudEvent here.", "details": []}})
        try:
            headers, body = to_binary(dict(request.headers), request.get_data())
            if not headers.get("ce-id") or not headers.get("ce-source"):
                raise ValueError("missing id or source")
        except Exception as exc:  # noqa: BLE001 - the SDK raises a zoo of types
            return _json(start_response, 400, {"error": {"code": "invalid_event",
                         "message": "The request is not a valid CloudEvent.",
                         "details": [str(exc)[:200]]}})
        self.publish(headers, body)
        start_response("202 Accepted", [("Content-Length", "0")])
        return [b""]


def _json(start_response, status: int, payload: dict):
    from http import HTTPStatus

    body = json.dumps(payload).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
