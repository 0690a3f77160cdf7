"""A room's events as they happen, for the chat-events function's Server-Sent Events.

Every change to a room is an entry on its Redis Stream (room.py puts it there after the
commit), so any number of chat-events instances serve the same room, and a reconnecting
client resumes after the entry id it last saw. In each process one reader per room
blocks on XREAD and fans each entry out to that room's listeners, so a thousand viewers
of one room cost one Redis connection, not a thousand; it encodes each entry once, and
every listener writes the same bytes. When the room is quiet for BLOCK_MS the reader hands
every listener a heartbeat instead.

A listener joins, then catches up: the entries after its Last-Event-ID (or after the
room's last entry when it has none) from XRANGE, then what the reader hands it, minus
what the catch-up already gave. Joining before the catch-up leaves no gap between the
two. What has piled up for a listener goes out in one write; a listener too slow to keep
up is dropped (its stream ends, and the client reconnects from where it was) rather than
holding memory for it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

from shared_lib import errors

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

ENTRY_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
BLOCK_MS = 10_000  # also the heartbeat: a quiet room's reader wakes this often
BATCH = 500
BACKLOG = 1000  # deliveries a listener may fall behind by before it is dropped
CATCH_UP_LIMIT = 1000

Entry = tuple[str, dict[str, str]]
# An entry as listeners get it: its id as a comparable pair, and its encoded event.
Delivery = tuple[tuple[int, int], bytes]
HEARTBEAT: Delivery = ((0, 0), b"")
END = None


def entry_key(entry_id: str) -> tuple[int, int]:
    """A stream entry id as a comparable pair ("1700000000000-3" -> (1700000000000, 3))."""
    match = ENTRY_ID.match(entry_id)
    if match is None:
        raise errors.InvalidInput("Last-Event-ID is not an event id of this stream.",
                                  details=[{"field": "Last-Event-ID"}])
    return int(match[1]), int(match[2])


def delivery(entry_id: str, fields: dict[str, str]) -> Delivery | None:
    """The entry as a Server-Sent Event. Its data is the JSON room.py wrote (one line: JSON
    text has no raw line breaks), sent as it is."""
    kind, data = fields.get("type", ""), fields.get("data", "")
    if not kind.isidentifier() or not data or "\n" in data or "\r" in data:
        log.warning("skipping a malformed chat event %s", entry_id)
        return None
    return entry_key(entry_id), f"id: {entry_id}\nevent: {kind}\ndata: {data}\n\n".encode()


class Room:
    """One room's reader in this process, and the queues of its listeners."""

    def __init__(self, redis: Redis, key: str) -> None:
        self.redis, self.key = redis, key
        self.listeners: set[asyncio.Queue[Delivery | None]] = set()
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
                if not batches:
                    self._hand_out(HEARTBEAT)
                for _, entries in batches or []:
                    for entry_id, fields in entries:
                        self.position = entry_id
                        encoded = delivery(entry_id, fields)
                        if encoded is not None:
                            self._hand_out(encoded)
        except Exception as exc:  # noqa: BLE001 - every listener must hear the reader stopped
            log.warning("the reader of %s stopped: %s", self.key, exc)
            for queue in list(self.listeners):
                self._end(queue)

    def _hand_out(self, item: Delivery) -> None:
        for queue in list(self.listeners):
            if queue.qsize() >= BACKLOG:
                self._end(queue)
            else:
                queue.put_nowait(item)

    def _end(self, queue: asyncio.Queue[Delivery | None]) -> None:
        """Stop handing `queue` anything: its listener gets what it holds, then the end, so
        it resumes from the last event it got, with no gap."""
        self.listeners.discard(queue)
        queue.put_nowait(END)


class Hub:
    """The rooms this process reads, each while it has listeners."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.rooms: dict[str, Room] = {}

    async def join(self, key: str) -> tuple[Room, asyncio.Queue[Delivery | None]]:
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
        queue: asyncio.Queue[Delivery | None] = asyncio.Queue()  # bounded by _hand_out
        room.listeners.add(queue)
        if room.task is None:
            room.task = asyncio.create_task(room.run(), name=f"chat-reader {key}")
        return room, queue

    def leave(self, room: Room, queue: asyncio.Queue[Delivery | None]) -> None:
        room.listeners.discard(queue)
        if not room.listeners and self.rooms.get(room.key) is room:
            del self.rooms[room.key]
            if room.task is not None:
                room.task.cancel()

    async def listen(self, key: str, after: str | None) -> AsyncIterator[bytes | None]:
        """The room's events after entry `after` (or from now) as they come, encoded, several
        in one piece when they piled up; None for a heartbeat. Raises before the first if
        Redis is down; ends if the listener is dropped."""
        if after is not None:
            entry_key(after)
        room, queue = await self.join(key)
        if after is None:
            # Joined at the reader's position (no await since): all after it is to come.
            return self._events(room, queue, entry_key(room.position), b"")
        try:
            missed = cast(list[Entry], await self.redis.xrange(room.key, min=f"({after}",
                                                               count=CATCH_UP_LIMIT))
        except BaseException:
            self.leave(room, queue)
            raise
        caught_up = [d for d in (delivery(*entry) for entry in missed) if d is not None]
        seen = caught_up[-1][0] if caught_up else entry_key(after)
        return self._events(room, queue, seen, b"".join(encoded for _, encoded in caught_up))

    async def _events(self, room: Room, queue: asyncio.Queue[Delivery | None],
                      seen: tuple[int, int], missed: bytes) -> AsyncIterator[bytes | None]:
        try:
            if missed:
                yield missed
            while True:
                item = await queue.get()
                chunk: list[bytes] = []
                beat = False
                while item is not END:  # take what has piled up, to write it at once
                    if item is HEARTBEAT:
                        beat = True
                    elif item[0] > seen:
                        seen = item[0]
                        chunk.append(item[1])
                    if queue.empty():
                        break
                    item = queue.get_nowait()
                if chunk:
                    yield b"".join(chunk)
                elif beat:
                    yield None
                if item is END:
                    return
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
