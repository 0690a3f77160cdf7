"""The public-answer cache: kept for its seconds under the version it was computed at, only
200s, bounded, marked cacheable for the front door, and recomputed by one request at a time."""

from __future__ import annotations

import pytest

from shared_lib.http import answers
from shared_lib.http.answers import Answers, Cached

POLICY = Cached(seconds=1, version_key="test:version")
BODY = b'{"items":[]}'


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(answers.time, "monotonic", lambda: now[0])
    return now


def test_an_answer_is_kept_for_its_seconds_under_its_version(clock):
    cache = Answers(POLICY)
    assert cache.put("/api/streams?live=true", "7", 200, BODY) == {"Cache-Control": "public, max-age=1"}
    assert cache.current("/api/streams?live=true", "7") == BODY
    assert cache.current("/api/streams?live=false", "7") is None, "another query is another answer"
    assert cache.current("/api/streams?live=true", "8") is None, "an owner's change moved the version"
    clock[0] += 1.0
    assert cache.current("/api/streams?live=true", "7") is None, "a second later it is recomputed"


def test_only_successful_answers_are_kept(clock):
    cache = Answers(POLICY)
    assert cache.put("/api/streams/x", "1", 404, b'{"error":{}}') == {}
    assert cache.current("/api/streams/x", "1") is None
    assert cache.young("/api/streams/x", anonymous=True) is None


def test_the_cache_is_bounded(clock, monkeypatch):
    monkeypatch.setattr(answers, "MAX_ENTRIES", 3)
    cache = Answers(POLICY)
    for i in range(3):
        cache.put(f"/p{i}", "1", 200, BODY)
    clock[0] += 5  # all three expired: they make room
    cache.put("/p3", "1", 200, BODY)
    assert cache.current("/p3", "1") is not None and cache.current("/p0", "1") is None
    for i in range(4, 7):  # none expired: the cache starts over rather than grow
        cache.put(f"/p{i}", "1", 200, BODY)
    assert sum(cache.current(f"/p{i}", "1") is not None for i in range(7)) <= 3


def test_an_anonymous_caller_takes_a_young_answer_and_one_with_a_token_the_version_now(clock):
    cache = Answers(POLICY)
    cache.put("/api/streams", "7", 200, BODY)
    assert cache.young("/api/streams", anonymous=True) == BODY, \
        "anonymous: no round trip, what the front door keeps too"
    assert cache.young("/api/streams", anonymous=False) is None, "a token: the version is asked"
    assert cache.current("/api/streams", "8") is None, "the owner's edit: recomputed for them"
    clock[0] += 2.0
    assert cache.young("/api/streams", anonymous=True) is None, "two seconds later, for all"


def test_one_request_recomputes_an_expired_answer_while_anonymous_ones_take_the_last(clock):
    cache = Answers(POLICY)
    cache.put("/api/streams", "7", 200, b'{"items":["old"]}')
    clock[0] += 1.0
    assert cache.young("/api/streams", anonymous=True) is None
    assert cache.current("/api/streams", "7") is None, "the first computes it"
    assert cache.young("/api/streams", anonymous=True) == b'{"items":["old"]}', \
        "the rest wait on nothing"
    assert cache.young("/api/streams", anonymous=False) is None, "a token: never stale"
    cache.put("/api/streams", "7", 200, b'{"items":["new"]}')
    assert cache.young("/api/streams", anonymous=True) == b'{"items":["new"]}'
    clock[0] += 1.0
    assert cache.current("/api/streams", "7") is None
    clock[0] += 0.5
    assert cache.young("/api/streams", anonymous=True) is not None
    clock[0] += 0.5  # that recompute never came back: another request takes it over
    assert cache.young("/api/streams", anonymous=True) is None, "nothing 2 s old stands in"


def test_without_redis_nothing_is_kept_and_every_answer_is_computed(monkeypatch):
    import asyncio

    import redis

    class Down:
        async def get(self, key):
            raise redis.ConnectionError("down")

    monkeypatch.setattr("shared_lib.cache.async_redis", lambda: Down())
    assert asyncio.run(Answers(POLICY).version()) is None
