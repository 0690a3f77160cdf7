"""A room's events to its listeners: catch-up after a Last-Event-ID, live fan-out with one
reader a room, no gap and no repeat between the two, and a slow listener dropped."""

from __future__ import annotations

import asyncio
import json

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
            await asyncio.wait_for(self.changed.wait(), block / 1000)
        return [(key, found[:count])]


async def take(events, count: int) -> list:
    return [(await asyncio.wait_for(anext(events), 2)) for _ in range(count)]


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
        rest = [e.data["id"] async for e in slow]  # ends: the client reconnects from id 2 or so
        assert rest == list(range(1, 1 + len(rest))) and len(rest) < 7
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
        assert [e async for e in events] == []
        with pytest.raises(ConnectionError):
            await hub.listen(KEY, None)

    run(test)


@pytest.mark.parametrize("bad", ["x", "1-", "-1", "1-2-3", "9" * 21 + "-0", "1.5-0"])
def test_a_last_event_id_that_is_no_entry_id_is_refused(bad):
    async def test():
        with pytest.raises(InvalidInput):
            await feed.Hub(FakeStreams()).listen(KEY, bad)

    run(test)
