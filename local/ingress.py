"""The broker's ingress (`POST /` on the internal port, behind nginx): takes a CloudEvent in
binary or structured mode from a sender the Broker's EventPolicy allows, writes it to
PostgreSQL and only then answers 202; 400 when it is not a CloudEvent, 401 without a valid
sender token, 413 past MAX_EVENT_BYTES, 503 when it cannot store it. The dispatcher
(local/broker.py) delivers it from there.

Every event of the platform comes through here, so it is served async (uvicorn under
local.serve, no thread per request), and it commits in groups: while one INSERT is in
flight, the events that arrive wait together for the next, which stores them all in one
statement and one WAL flush. Each sender still gets its 202 only once its own event is
committed. A group that fails is stored again event by event, so one event PostgreSQL
refuses costs no other event its place.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from local.broker import QUEUE_ENV, WAKEUP_ENV, to_binary, wake
from local.event_store import EventStore

log = logging.getLogger("streamfn.broker")

MAX_EVENT_BYTES = 1024 * 1024  # the front door lets less through; this holds without it
GROUP_LIMIT = 64  # events in one INSERT at most


def authorize_sender(authorization: str, settings=None) -> None:
    """The Broker's EventPolicy: a token of the local issuer for the Broker's audience, from
    the rtmp-ingest or the functions' service account. NotAuthenticated otherwise."""
    from local.issuer import ALLOWED_SENDERS, BROKER
    from shared_lib.errors import NotAuthenticated
    from shared_lib.events.sender import verify_request

    sender = verify_request(authorization, audience=BROKER, settings=settings)
    if sender.subject not in ALLOWED_SENDERS:
        raise NotAuthenticated(f"{sender.subject} may not send events to this broker.")


class GroupCommit:
    """Stores events through `store.put_many` on one thread of its own: an event waits while
    a group is being written and goes in the next, with every event that came meanwhile (at
    most `limit`). No timer: a lone event is written at once."""

    def __init__(self, store: EventStore, *, limit: int = GROUP_LIMIT) -> None:
        self.store = store
        self.limit = limit
        self._waiting: list[tuple[dict[str, str], bytes, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="event-store")

    async def put(self, headers: dict[str, str], body: bytes) -> None:
        """Return once the event is committed; raise what kept it from being stored."""
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[None] = loop.create_future()
        self._waiting.append((headers, body, stored))
        if self._writer is None:
            self._writer = loop.create_task(self._write())
        await stored

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:self.limit], self._waiting[self.limit:]
                try:
                    await loop.run_in_executor(self._thread, self.store.put_many,
                                               [(headers, body) for headers, body, _ in group])
                except Exception as failed:  # noqa: BLE001 - told to each sender, as a 503
                    if len(group) == 1:
                        _settle(group[0][2], failed)
                        continue
                    for headers, body, stored in group:  # whose event was it?
                        try:
                            await loop.run_in_executor(self._thread, self.store.put_many,
                                                       [(headers, body)])
                        except Exception as alone:  # noqa: BLE001 - the same
                            _settle(stored, alone)
                        else:
                            _settle(stored)
                    continue
                for _, _, stored in group:
                    _settle(stored)
        finally:
            self._writer = None


def _settle(stored: asyncio.Future[None], error: BaseException | None = None) -> None:
    if stored.done():  # its sender went away; the event is stored (or not) all the same
        return
    if error is None:
        stored.set_result(None)
    else:
        stored.set_exception(error)


class Ingress:
    """ASGI: `POST /` takes one CloudEvent from an authorized sender, stores it, then
    answers 202."""

    def __init__(self, store: EventStore | None = None, *, wakeup: str | None = None,
                 authorize: Callable[[str], None] = authorize_sender) -> None:
        self.store = store or EventStore()
        self.wakeup = wakeup
        self.authorize = authorize
        self.group = GroupCommit(self.store)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/healthz":
            await _answer(send, 200)
            return
        if method != "POST" or path != "/":
            await _error(send, 405, "method_not_allowed", "POST a CloudEvent here.")
            return
        from shared_lib.errors import NotAuthenticated

        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        try:
            self.authorize(headers.get("authorization", ""))
        except NotAuthenticated as refused:
            await _error(send, 401, refused.code, refused.message)
            return
        body = await _body(receive)
        if body is None:
            await _error(send, 413, "payload_too_large",
                         f"An event may have at most {MAX_EVENT_BYTES} bytes.")
            return
        headers.pop("authorization", None)
        try:
            event, data = to_binary(headers, body)
            if not event.get("ce-id") or not event.get("ce-source"):
                raise ValueError("missing id or source")
        except Exception as exc:  # noqa: BLE001 - the SDK raises a zoo of types
            await _error(send, 400, "invalid_event", "The request is not a valid CloudEvent.",
                         [str(exc)[:200]])
            return
        try:
            await self.group.put(event, data)
        except Exception:  # noqa: BLE001 - not stored, so not accepted: the sender retries
            log.exception("could not store an event")
            await _error(send, 503, "unavailable", "The broker cannot store events now.")
            return
        wake(self.wakeup)
        await _answer(send, 202)


async def _body(receive) -> bytes | None:
    """The request's body; None past MAX_EVENT_BYTES."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_EVENT_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _answer(send, status: int, body: bytes = b"",
                  content_type: bytes | None = None) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send, status: int, code: str, message: str, details=()) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "details": list(details)}})
    await _answer(send, status, body.encode(), b"application/json")


_ingress: Ingress | None = None


async def ingress(scope, receive, send) -> None:
    """The ingress as the runtime serves it (`local.serve --asgi --app local.ingress:ingress`)."""
    global _ingress
    if _ingress is None:
        from shared_lib.db import get_engine

        # Each group of events is one INSERT: committed by itself, one round trip.
        store = EventStore(os.environ.get(QUEUE_ENV, "default"),
                           engine_factory=lambda: get_engine(autocommit=True))
        _ingress = Ingress(store, wakeup=os.environ.get(WAKEUP_ENV))
    await _ingress(scope, receive, send)
