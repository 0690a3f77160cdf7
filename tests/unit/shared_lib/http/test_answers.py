"""The public-answer cache: kept for its seconds under the version it was computed at, only
200s, bounded, and marked cacheable for the front door."""

from __future__ import annotations

import flask
import pytest

from shared_lib.http import answers
from shared_lib.http.answers import Answers, Cached

POLICY = Cached(seconds=1, version_key="test:version")


def ok(body: bytes = b'{"items":[]}', status: int = 200) -> flask.Response:
    return flask.Response(body, status=status, content_type="application/json")


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(answers.time, "monotonic", lambda: now[0])
    return now


def test_an_answer_is_kept_for_its_seconds_under_its_version(clock):
    cache = Answers(POLICY)
    stored = cache.put("/api/streams?live=true", "7", ok())
    assert stored.headers["Cache-Control"] == "public, max-age=1"
    hit = cache.get("/api/streams?live=true", "7")
    assert hit is not None and hit.get_data() == b'{"items":[]}'
    assert hit.headers["Cache-Control"] == "public, max-age=1" and hit.mimetype == "application/json"
    assert cache.get("/api/streams?live=false", "7") is None, "another query is another answer"
    assert cache.get("/api/streams?live=true", "8") is None, "an owner's change moved the version"
    clock[0] += 1.0
    assert cache.get("/api/streams?live=true", "7") is None, "a second later it is recomputed"


def test_only_successful_answers_are_kept(clock):
    cache = Answers(POLICY)
    missing = cache.put("/api/streams/x", "1", ok(b'{"error":{}}', 404))
    assert "Cache-Control" not in missing.headers
    assert cache.get("/api/streams/x", "1") is None


def test_the_cache_is_bounded(clock, monkeypatch):
    monkeypatch.setattr(answers, "MAX_ENTRIES", 3)
    cache = Answers(POLICY)
    for i in range(3):
        cache.put(f"/p{i}", "1", ok())
    clock[0] += 5  # all three expired: they make room
    cache.put("/p3", "1", ok())
    assert cache.get("/p3", "1") is not None and cache.get("/p0", "1") is None
    for i in range(4, 7):  # none expired: the cache starts over rather than grow
        cache.put(f"/p{i}", "1", ok())
    assert sum(cache.get(f"/p{i}", "1") is not None for i in range(7)) <= 3


def test_an_anonymous_caller_takes_a_young_answer_and_one_with_a_token_the_version_now(
        clock, monkeypatch):
    cache = Answers(POLICY)
    asked = []
    version = ["7"]
    monkeypatch.setattr(cache, "version", lambda: asked.append(1) or version[0])
    assert cache.lookup("/api/streams", anonymous=True) == (None, "7"), "a miss asks the version"
    cache.put("/api/streams", "7", ok())
    asked.clear()
    version[0] = "8"  # the owner's edit committed
    hit, _ = cache.lookup("/api/streams", anonymous=True)
    assert hit is not None and not asked, "anonymous: no round trip, what the front door keeps too"
    assert cache.lookup("/api/streams", anonymous=False) == (None, "8"), "the owner: recomputed"
    clock[0] += 1.0
    assert cache.lookup("/api/streams", anonymous=True) == (None, "8"), "a second later, for all"
    version[0] = None
    assert cache.lookup("/api/streams", anonymous=True) == (None, None), "no Redis: keep nothing"
