"""Functions that answer with Server-Sent Events, served by functions-framework's ASGI mode.

    @sse_function("GET /api/chat/{username}/events", scaling=...)
    async def chat_events(username: str, last_event_id: str | None) -> AsyncIterator[bytes | None]:
        ...

The handler is a coroutine: it raises what refuses the request (answered as JSON, like any
function's error), or returns an async iterator of `ServerEvent`s, or of bytes of events
already encoded (one encoding shared by many listeners), with None as a heartbeat. The
wrapper does the route and method checks, typed path parameters, the `Last-Event-ID` (the
header a reconnecting EventSource sends, or the `last_event_id` query parameter for a
client that already holds a point to resume from), and the stream itself: headers that no
proxy buffers or caches, a `retry:` hint, a comment for each heartbeat the handler's iterator
yields (None) so proxies keep a quiet connection, and a clean end after its time so the
client reconnects (resuming where it was) before the platform's request timeout would cut it.
"""

from __future__ import annotations

import inspect
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared_lib import errors
from shared_lib.catalog import HTTP, Scaling
from shared_lib.http.aio import register_asgi, routed
from shared_lib.http.paths import path_converters, path_parameters
from shared_lib.http.registration import Decorator, Handler, parameters_of, spec_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

log = logging.getLogger(__name__)

LAST_EVENT_ID_LIMIT = 64
STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-store",
    # nginx (the front door, and most ingresses) streams such a response unbuffered.
    "X-Accel-Buffering": "no",
}


@dataclass(frozen=True)
class ServerEvent:
    """One event: `id` is what a reconnecting client resumes after; `data` is sent as JSON."""

    id: str
    event: str
    data: Any

    def encode(self) -> bytes:
        data = json.dumps(self.data, separators=(",", ":"), default=str)
        return f"id: {self.id}\nevent: {self.event}\ndata: {data}\n\n".encode()


def _last_event_id(request: Request) -> str | None:
    value = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if value is None or value == "":
        return None
    if len(value) > LAST_EVENT_ID_LIMIT or not value.isprintable():
        raise errors.InvalidInput("Last-Event-ID is not an event id of this stream.",
                                  details=[{"field": "Last-Event-ID"}])
    return value


async def framed(events: AsyncIterator[ServerEvent | bytes | None], *, max_seconds: float,
                 retry_ms: int) -> AsyncIterator[bytes]:
    """The bytes of the stream: a retry hint first, then each event (a ServerEvent, or bytes
    of events already encoded), a comment for each None (a heartbeat), and the end at the
    first of them once `max_seconds` have passed."""
    yield f"retry: {retry_ms}\n: open\n\n".encode()
    ends = time.monotonic() + max_seconds
    try:
        async for item in events:
            if item is None:
                yield b": heartbeat\n\n"
            else:
                yield item if isinstance(item, bytes) else item.encode()
            if time.monotonic() >= ends:
                return
    except Exception as exc:  # noqa: BLE001 - the answer has begun: end it, the client resumes
        log.warning("an event stream ended early: %s", exc)
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


def sse_function(route: str, *, scaling: Scaling | None = None, retry_ms: int = 2000) -> Decorator:
    """Declare a Server-Sent Events function at `route` ("GET /path/{param}"). Its iterator
    yields None whenever it has been quiet for a while (well under the platform's idle
    timeout): the wrapper writes a heartbeat for it. A stream lasts a little less than the
    scaling's `timeout_seconds` (jittered, so clients do not all come back at once), then
    the client reconnects with its Last-Event-ID."""
    method, path = route.split(" ", 1)

    def decorate(handler: Handler) -> Handler:
        assert inspect.iscoroutinefunction(handler), "an SSE handler is async"
        spec = spec_of(handler, HTTP, scaling, method=method, path=path, auth="none", asgi=True,
                       stream=True)
        wants = parameters_of(handler)
        pattern, converters = spec.path_pattern, path_converters(handler, path)
        lifetime = spec.scaling.timeout_seconds * 0.9

        async def open_stream(request: Request) -> Response:
            from starlette.responses import StreamingResponse

            kwargs = path_parameters(routed(request, spec, pattern), wants, converters)
            if "last_event_id" in wants:
                kwargs["last_event_id"] = _last_event_id(request)
            events = await handler(**kwargs)
            stream = framed(events, retry_ms=retry_ms,
                            max_seconds=lifetime * random.uniform(0.8, 1.0))
            return StreamingResponse(stream, media_type="text/event-stream",
                                     headers=STREAM_HEADERS)

        return register_asgi(spec, handler, open_stream)

    return decorate
