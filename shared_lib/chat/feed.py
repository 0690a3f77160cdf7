"""A room's events as they happen, for the chat-events function's Server-Sent Events.

Every change to a room is an entry on its Redis Stream (room.py puts it there after the
commit), so any number of chat-events instances serve the same room, and a reconnecting
client resumes after the entry id it last saw. In each process one reader per room
blocks on XREAD and fans each entry out to that room's listeners, so a thousand viewers
of one room cost one Redis connection, not a thousand.

A listener joins, then catches up: the entries after its Last-Event-ID (or after the
room's last entry when it has none) from XRANGE, then what the reader hands it, minus
what the catch-up already gave. Joining before the catch-up leaves no gap between the
two. A listener too slow to keep up is dropped (its stream ends, and the client
reconnects from where it was) rather than holding memory for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

from shared_lib import errors
from shared_lib.http.sse import ServerEvent

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

ENTRY_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
BLOCK_MS = 10_000
BATCH = 500
BACKLOG = 1000  # entries a listener may fall behind by before it is dropped
CATCH_UP_LIMIT = 1000

Entry = tuple[str, dict[str, str]]


def entry_key(entry_id: str) -> tuple[int, int]:
    """A stream entry id as a comparable pair ("1700000000000-3" -> (1700000000000, 3))."""
    match = ENTRY_ID.match(entry_id)
    if match is None:
        raise errors.InvalidInput("Last-Event-ID is not an event id of this stream.",
                                  details=[{"field": "Last-Event-ID"}])
    return int(match[1]), int(match[2])


def server_event(entry_id: str, fields: dict[str, str]) -> ServerEvent | None:
    try:
        return ServerEvent(id=entry_id, event=fields["type"], data=json.loads(fields["data"]))
    except (KeyError, ValueError):
        log.warning("skipping a malformed chat event %s", entry_id)
        return None


class Dropped(Exception):
    """The listener fell too far behind, or the room's reader lost Redis."""


class Room:
    """One room's reader in this process, and the queues of its listeners."""

    def __init__(self, redis: Redis, key: str) -> None:
        self.redis, self.key = redis, key
        self.listeners: set[asyncio.Queue[Entry | None]] = set()
        self.ready = asyncio.Event()
        self.position = "0-0"
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the room from its current last entry on; raises if Redis is down."""
        newest = cast(list[Entry], await self.redis.xrevrange(self.key, count=1))
        self.position = newest[0][0] if newest else "0-0"
        self.ready.set()

    async def run(self) -> None:
        try:
            while self.listeners:
                batches = cast(list[tuple[str, list[Entry]]], await self.redis.xread(
                    {self.key: self.position}, count=BATCH, block=BLOCK_MS))
                for _, entries in batches or []:
                    for entry in entries:
                        self.position = entry[0]
                        self._hand_out(entry)
        except Exception as exc:  # noqa: BLE001 - every listener must hear the reader stopped
            log.warning("the reader of %s stopped: %s", self.key, exc)
            for queue in list(self.listeners):
                self._end(queue)

    def _hand_out(self, entry: Entry) -> None:
        for queue in list(self.listeners):
            try:
                queue.put_nowait(entry)
            except asyncio.QueueFull:
                self._end(queue)

    def _end(self, queue: asyncio.Queue[Entry | None]) -> None:
        self.listeners.discard(queue)
        while True:  # make room for the end marker: the listener stops at it
            try:
                queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                queue.get_nowait()


class Hub:
    """The rooms this process reads, each while it has listeners."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.rooms: dict[str, Room] = {}

    async def join(self, key: str) -> tuple[Room, asyncio.Queue[Entry | None]]:
        room = self.rooms.get(key)
        if room is not None and room.task is not None and room.task.done():
            del self.rooms[key]  # its reader stopped (Redis went away): start afresh
            room = None
        if room is None:
            room = self.rooms[key] = Room(self.redis, key)
            try:
                await room.start()
            except BaseException:
                room.ready.set()
                self.rooms.pop(key, None)
                raise
        await room.ready.wait()
        if self.rooms.get(key) is not room:  # its start failed while we waited
            return await self.join(key)
        queue: asyncio.Queue[Entry | None] = asyncio.Queue(BACKLOG)
        room.listeners.add(queue)
        if room.task is None:
            room.task = asyncio.create_task(room.run(), name=f"chat-reader {key}")
        return room, queue

    def leave(self, room: Room, queue: asyncio.Queue[Entry | None]) -> None:
        room.listeners.discard(queue)
        if not room.listeners and self.rooms.get(room.key) is room:
            del self.rooms[room.key]
            if room.task is not None:
                room.task.cancel()

    async def listen(self, key: str, after: str | None) -> AsyncIterator[ServerEvent]:
        """The room's events after entry `after` (or from now), as they come. Raises before
        the first event if Redis is down; ends if the listener is dropped."""
        if after is not None:
            entry_key(after)
        room, queue = await self.join(key)
        return self._events(room, queue, after or room.position)

    async def _events(self, room: Room, queue: asyncio.Queue[Entry | None],
                      after: str) -> AsyncIterator[ServerEvent]:
        try:
            seen = entry_key(after)
            missed = cast(list[Entry], await self.redis.xrange(room.key, min=f"({after}",
                                                               count=CATCH_UP_LIMIT))
            for entry_id, fields in missed:
                seen = entry_key(entry_id)
                event = server_event(entry_id, fields)
                if event is not None:
                    yield event
            while (entry := await queue.get()) is not None:
                if entry_key(entry[0]) <= seen:
                    continue
                seen = entry_key(entry[0])
                event = server_event(*entry)
                if event is not None:
                    yield event
        finally:
            self.leave(room, queue)


_hubs: dict[Any, Hub] = {}


def hub() -> Hub:
    """This process's hub (one per event loop), on an asyncio Redis client of its own."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        from shared_lib.cache import get_async_redis

        _hubs.clear()
        _hubs[loop] = Hub(get_async_redis(block_seconds=BLOCK_MS / 1000))
    return _hubs[loop]
