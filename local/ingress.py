"""The broker's ingress (`POST /` on the internal port, under gunicorn behind nginx): takes a
CloudEvent in binary or structured mode from a sender the Broker's EventPolicy allows,
writes it to PostgreSQL and only then answers 202; 400 when it is not a CloudEvent, 401
without a valid sender token, 503 when it cannot store it. The dispatcher (local/broker.py)
delivers it from there.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable

from local.broker import QUEUE_ENV, WAKEUP_ENV, to_binary, wake
from local.event_store import EventStore

log = logging.getLogger("streamfn.broker")


def _json(start_response, status: int, code: str, message: str, details=()):
    from http import HTTPStatus

    body = json.dumps({"error": {"code": code, "message": message, "details": list(details)}}).encode()
    start_response(f"{status} {HTTPStatus(status).phrase}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def authorize_sender(authorization: str, settings=None) -> None:
    """The Broker's EventPolicy: a token of the local issuer for the Broker's audience, from
    the rtmp-ingest or the functions' service account. NotAuthenticated otherwise."""
    from local.issuer import ALLOWED_SENDERS, BROKER
    from shared_lib.errors import NotAuthenticated
    from shared_lib.events.sender import verify_request

    sender = verify_request(authorization, audience=BROKER, settings=settings)
    if sender.subject not in ALLOWED_SENDERS:
        raise NotAuthenticated(f"{sender.subject} may not send events to this broker.")


class Ingress:
    """WSGI: `POST /` takes one CloudEvent from an authorized sender, stores it, then
    answers 202."""

    def __init__(self, store: EventStore | None = None, *, wakeup: str | None = None,
                 authorize: Callable[[str], None] = authorize_sender) -> None:
        self.store = store or EventStore()
        self.wakeup = wakeup
        self.authorize = authorize

    def __call__(self, environ, start_response):
        from werkzeug.wrappers import Request

        request = Request(environ)
        if request.path == "/healthz":
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]
        if request.method != "POST" or request.path != "/":
            return _json(start_response, 405, "method_not_allowed", "POST a CloudEvent here.")
        from shared_lib.errors import NotAuthenticated

        try:
            self.authorize(request.headers.get("Authorization", ""))
        except NotAuthenticated as refused:
            return _json(start_response, 401, refused.code, refused.message)
        try:
            headers, body = to_binary(dict(request.headers), request.get_data())
            if not headers.get("ce-id") or not headers.get("ce-source"):
                raise ValueError("missing id or source")
        except Exception as exc:  # noqa: BLE001 - the SDK raises a zoo of types
            return _json(start_response, 400, "invalid_event", "The request is not a valid CloudEvent.",
                         [str(exc)[:200]])
        try:
            self.store.put(headers, body)
        except Exception:  # noqa: BLE001 - not stored, so not accepted: the sender retries
            log.exception("could not store an event")
            return _json(start_response, 503, "unavailable", "The broker cannot store events now.")
        wake(self.wakeup)
        start_response("202 Accepted", [("Content-Length", "0")])
        return [b""]


_ingress: Ingress | None = None


def ingress(environ, start_response):
    """The ingress as gunicorn loads it (`local.serve --app local.ingress:ingress`)."""
    global _ingress
    if _ingress is None:
        from shared_lib.db import get_engine

        # Each event is one INSERT: committed by itself, one round trip to PostgreSQL.
        store = EventStore(os.environ.get(QUEUE_ENV, "default"),
                           engine_factory=lambda: get_engine(autocommit=True))
        _ingress = Ingress(store, wakeup=os.environ.get(WAKEUP_ENV))
    return _ingress(environ, start_response)
