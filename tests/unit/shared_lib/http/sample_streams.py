"""Event-stream functions used only by the SSE decorator tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

from shared_lib.catalog import Scaling
from shared_lib.errors import NotFound
from shared_lib.http import ServerEvent, sse_function


@sse_function("GET /api/rooms/{room}/events", scaling=Scaling(timeout_seconds=60))
async def room_events(room: str, last_event_id: str | None) -> AsyncIterator[ServerEvent]:
    if room == "nowhere":
        raise NotFound("No such room.")
    if room == "broken":
        raise RuntimeError("secret internals that must not leak")
    start = int(last_event_id or 0)

    async def events():
        for n in range(start + 1, start + 4):
            yield ServerEvent(id=str(n), event="message", data={"n": n, "text": "a\nb <i>"})

    return events()
