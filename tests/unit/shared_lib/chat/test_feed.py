"""A room's events to its listeners: catch-up after a Last-Event-ID, live fan-out with one
reader a room, no gap and no repeat between the two, what piled up sent at once, heartbeats
from a quiet room, and a slow listener dropped."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest

from shared_lib.chat import feed
from shared_lib.errors import InvalidInput

KEY = "room"


class FakeStreams:
    """The four stream commands the feed uses, over lists, with XREAD's blocking."""

    def __init__(self) -> None:
        self.entries: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self.sequence = 0
        self.changed = asyncio.Event()
        self.reads = 0
        self.down = False

    def add(self, kind: str, data: dict) -> str:
        self.sequence += 1
        entry_id = f"1000-{self.sequence}"
        self.entries.setdefault(KEY, []).append((entry_id, {"type": kind, "data": json.dumps(data)}))
        self.changed.set()
        return entry_id

    def _after(self, key: str, after: str) -> list:
        return [e for e in self.entries.get(key, []) if feed.entry_key(e[0]) > feed.entry_key(after)]

    async def xrevrange(self, key, count):
        if self.down:
            raise ConnectionError("down")
        return list(reversed(self.entries.get(key, [])))[:count]

    async def xrange(self, key, min, count):
        return self._after(key, min.lstrip("("))[:count]

    async def xread(self, streams, count, block):
        self.reads += 1
        (key, after), = streams.items()
        while not (found := self._after(key, after)):
            if self.down:
                raise ConnectionError("down")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), block / 1000)
            except TimeoutError:
                return []  # as XREAD answers a BLOCK that ran out
        return [(key, found[:count])]


@dataclass(frozen=True)
class Seen:
    id: str
    event: str
    data: dict


def parse(chunk: bytes) -> list[Seen]:
    """The events in what a listener was handed (one piece may hold several)."""
    events = []
    for block in chunk.decode().split("\n\n"):
        if block:
            fields = dict(line.split(": ", 1) for line in block.split("\n"))
            events.append(Seen(fields["id"], fields["event"], json.loads(fields["data"])))
    return events


async def take(events, count: int) -> list[Seen]:
    """The next `count` events, however they were pieced."""
    got: list[Seen] = []
    while len(got) < count:
        chunk = await asyncio.wait_for(anext(events), 2)
        assert chunk is not None, "a heartbeat where an event was due"
        got += parse(chunk)
    return got


async def drain(events) -> list[Seen]:
    return [e async for chunk in events if chunk for e in parse(chunk)]


def run(test):
    return asyncio.run(asyncio.wait_for(test(), 10))


def test_a_listener_gets_what_is_sent_after_it_joined_and_nothing_from_before():
    async def test():
        redis = FakeStreams()
        redis.add("message", {"id": 1})
        events = await feed.Hub(redis).listen(KEY, None)
        redis.add("message", {"id": 2})
        redis.add("delete", {"id": 2})
        got = await take(events, 2)
        assert [(e.event, e.data) for e in got] == [("message", {"id": 2}), ("delete", {"id": 2})]
        assert got[0].id == "1000-2"
        await events.aclose()

    run(test)


def test_a_reconnect_resumes_after_its_last_event_id_with_what_it_missed():
    async def test():
        redis = FakeStreams()
        first = redis.add("message", {"id": 1})
        redis.add("message", {"id": 2})
        redis.add("ban", {"user": "x", "until": None})
        events = await feed.Hub(redis).listen(KEY, first)
        redis.add("message", {"id": 3})
        got = await take(events, 3)
        assert [e.id for e in got] == ["1000-2", "1000-3", "1000-4"], "missed, then live, once each"
        await events.aclose()

    run(test)


def test_one_reader_serves_every_listener_of_a_room_and_stops_when_the_last_leaves():
    async def test():
        redis = FakeStreams()
        hub = feed.Hub(redis)
        listeners = [await hub.listen(KEY, None) for _ in range(50)]
        redis.add("message", {"id": 1})
        for events in listeners:
            assert (await take(events, 1))[0].data == {"id": 1}
        assert len(hub.rooms) == 1 and redis.reads <= 3, "one XREAD loop, not one per listener"
        for events in listeners:
            await events.aclose()
        assert hub.rooms == {}

    run(test)


def test_a_listener_that_falls_too_far_behind_is_dropped_and_the_others_are_not(monkeypatch):
    monkeypatch.setattr(feed, "BACKLOG", 3)

    async def test():
        redis = FakeStreams()
        hub = feed.Hub(redis)
        slow, quick = await hub.listen(KEY, None), await hub.listen(KEY, None)
        redis.add("message", {"id": 0})
        assert (await take(slow, 1))[0].data == {"id": 0}
        got = await take(quick, 1)
        for n in range(1, 8):  # the slow one reads no more
            redis.add("message", {"id": n})
            got += await take(quick, 1)
        assert [e.data["id"] for e in got] == list(range(8))
        rest = [e.data["id"] for e in await drain(slow)]  # ends: resumes after the last
        assert rest == list(range(1, 1 + len(rest))) and len(rest) < 7, "no gap, then the end"
        await quick.aclose()
        await quick.aclose()

    run(test)


def test_redis_down_refuses_a_new_listener_and_ends_the_open_streams():
    async def test():
        redis = FakeStreams()
        hub = feed.Hub(redis)
        events = await hub.listen(KEY, None)
        redis.down = True
        redis.changed.set()
        assert await drain(events) == []
        with pytest.raises(ConnectionError):
            await hub.listen(KEY, None)

    run(test)


def test_what_piled_up_goes_out_in_one_piece_and_a_quiet_room_sends_heartbeats(monkeypatch):
    monkeypatch.setattr(feed, "BLOCK_MS", 50)

    async def test():
        redis = FakeStreams()
        events = await feed.Hub(redis).listen(KEY, None)
        first = asyncio.ensure_future(anext(events))  # the listener is busy elsewhere…
        await asyncio.sleep(0)
        for n in range(3):
            redis.add("message", {"id": n})
        await asyncio.sleep(0.01)
        pieces = [await first]
        pieces.append(await asyncio.wait_for(anext(events), 2))
        assert [e.data["id"] for p in pieces if p for e in parse(p)] == [0, 1, 2]
        assert len(pieces) <= 2, "what waited goes out together, not one write an event"
        assert await asyncio.wait_for(anext(events), 1) is None, "a quiet room's heartbeat"
        await events.aclose()

    run(test)


@pytest.mark.parametrize("bad", ["x", "1-", "-1", "1-2-3", "9" * 21 + "-0", "1.5-0"])
def test_a_last_event_id_that_is_no_entry_id_is_refused(bad):
    async def test():
        with pytest.raises(InvalidInput):
            await feed.Hub(FakeStreams()).listen(KEY, bad)

    run(test)
