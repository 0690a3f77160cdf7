"""Streams, stream keys and the ingest functions on the real PostgreSQL and Redis."""

from __future__ import annotations

import time
import uuid

import pytest

from shared_lib.http.auth import INGEST_SECRET_HEADER
from tests import factories


def new_user(call, prefix="s"):
    return factories.new_user(call, prefix)


def create(call, token, **fields):
    body = {"title": "Morning chess", **fields}
    return call("create-stream", json=body, token=token)


def secret():
    from shared_lib.config import get_settings

    return {INGEST_SECRET_HEADER: get_settings().ingest_secret.get_secret_value()}


def authorize(call, key, phase="publish", headers=None, **named):
    return call("authorize-publish", json={"stream_key": key, "phase": phase, "pod": "test-0", **named},
                headers=secret() if headers is None else headers)


def event(call, name, kind, stream_id, **data):
    headers, body = factories.stream_event(kind, stream_id, **data)
    return call(name, "POST", "/", data=body, headers=headers)


_READER: dict[str, tuple[float, str]] = {}


def stream(call, stream_id):
    """The stream as a logged-in viewer sees it: every change at once. (Anonymous callers
    may be answered from the directory's cache for up to a second: its own test below.)"""
    made, token = _READER.get("token", (0.0, ""))
    if time.monotonic() - made > 600:  # well inside the access token's 15 minutes
        made, token = time.monotonic(), new_user(call, "reader")[1]
        _READER["token"] = made, token
    return call("get-stream", path=f"/api/streams/{stream_id}", token=token).get_json()


def go_live(call, token):
    stream_id = create(call, token).get_json()["id"]
    assert event(call, "on-stream-started", "started", stream_id).status_code == 202
    return stream_id


def test_create_stream_returns_its_public_shape(call):
    name, token = new_user(call)
    response = create(call, token, description="Openings", category="education",
                      tags=["Chess", "chess", "openings"], language="en")
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "created" and body["user"]["username"] == name
    assert body["tags"] == ["chess", "openings"] and body["category_name"] == "Education"
    assert body["playback"] is None and body["duration_seconds"] is None
    assert stream(call, body["id"])["title"] == "Morning chess"


@pytest.mark.parametrize("fields", [
    {"title": ""}, {"title": "x" * 141}, {"category": "cooking-with-lava"},
    {"tags": [f"t{i}" for i in range(11)]}, {"tags": ["has space"]}, {"language": "english"},
    {"viewer_count": 10}, {"title": 5},
])
def test_create_stream_validates(call, fields):
    _, token = new_user(call)
    assert create(call, token, **fields).status_code == 400


def test_only_the_owner_edits_and_not_after_the_end(call):
    _, owner = new_user(call)
    _, stranger = new_user(call)
    stream_id = create(call, owner, category="gaming").get_json()["id"]
    path = f"/api/streams/{stream_id}"
    assert call("update-stream", path=path, json={"title": "x"}, token=stranger).status_code == 403
    edited = call("update-stream", path=path, json={"title": "Speedrun"}, token=owner).get_json()
    assert edited["title"] == "Speedrun" and edited["category"] == "gaming"
    assert call("update-stream", path="/api/streams/not-an-id", json={"title": "x"},
                token=owner).status_code == 404
    assert call("update-stream", path=f"/api/streams/{uuid.uuid4()}", json={"title": "x"},
                token=owner).status_code == 404
    event(call, "on-stream-started", "started", stream_id)
    live = call("update-stream", path=path, json={"category": "music"}, token=owner)
    assert live.status_code == 200 and live.get_json()["status"] == "live"
    event(call, "on-stream-ended", "ended", stream_id)
    assert call("update-stream", path=path, json={"title": "y"}, token=owner).status_code == 409


def test_a_stream_key_is_shown_once_stored_hashed_and_replaced_on_rotation(call):
    from sqlalchemy import text

    from shared_lib.db import UnitOfWork

    name, token = new_user(call)
    first = call("rotate-stream-key", token=token)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    key = first.get_json()["stream_key"]
    assert key.startswith("live_") and len(key) > 40
    second = call("rotate-stream-key", token=token).get_json()["stream_key"]
    assert second != key
    with UnitOfWork() as uow:
        dump = str(uow.session.execute(text("SELECT * FROM users WHERE username = :n"),
                                       {"n": name}).all())
    assert key not in dump and second not in dump
    assert authorize(call, key).status_code == 403
    assert authorize(call, second).status_code == 200


def test_authorize_publish_needs_the_ingest_secret(call):
    _, token = new_user(call)
    key = call("rotate-stream-key", token=token).get_json()["stream_key"]
    assert authorize(call, key, headers={}).status_code == 401
    assert authorize(call, key, headers={INGEST_SECRET_HEADER: "guess"}).status_code == 401


def test_a_publish_uses_the_stream_created_ahead_or_the_channel_defaults(call):
    _, token = new_user(call)
    key = call("rotate-stream-key", token=token).get_json()["stream_key"]
    first = authorize(call, key).get_json()["stream_id"]
    assert stream(call, first)["title"].endswith("is live")
    event(call, "on-stream-started", "started", first)
    assert authorize(call, key).get_json()["stream_id"] == first, "a reconnect goes on"
    event(call, "on-stream-ended", "ended", first)
    call("update-stream", path=f"/api/streams/{first}", json={"title": "x"}, token=token)
    planned = create(call, token, title="Planned", category="art").get_json()["id"]
    assert authorize(call, key).get_json()["stream_id"] == planned
    event(call, "on-stream-started", "started", planned)
    event(call, "on-stream-ended", "ended", planned)
    third = authorize(call, key).get_json()["stream_id"]
    assert third not in (first, planned)
    assert stream(call, third)["title"] == "Planned" and stream(call, third)["category"] == "art"


def test_a_named_publish_goes_live_as_it_is_authorized_and_a_second_encoder_takes_nothing(call):
    _, token = new_user(call)
    key = call("rotate-stream-key", token=token).get_json()["stream_key"]
    first, second = "a" * 32, "b" * 32
    stream_id = authorize(call, key, publish_id=first).get_json()["stream_id"]
    assert stream(call, stream_id)["status"] == "live", "live before the relay's event comes round"
    event(call, "on-stream-started", "started", stream_id, publish_id=first)
    assert stream(call, stream_id)["status"] == "live"
    # A second encoder on the same key (nginx refuses it after this answer): the running
    # publish stays the stream's, and its end still ends it.
    assert authorize(call, key, publish_id=second).get_json()["stream_id"] == stream_id
    event(call, "on-stream-ended", "ended", stream_id, publish_id=first)
    assert stream(call, stream_id)["status"] == "ended"
    assert authorize(call, key, publish_id="not-hex").status_code == 400


def test_start_and_end_follow_the_events_and_keep_redis_live_set(call):
    from shared_lib.cache import Keys, get_redis

    _, token = new_user(call)
    stream_id = go_live(call, token)
    body = stream(call, stream_id)
    assert body["status"] == "live" and body["playback"]["hls"].endswith(f"/hls/{stream_id}.m3u8")
    assert get_redis().sismember(Keys.LIVE_STREAMS, stream_id)
    event(call, "on-stream-ended", "ended", stream_id)
    ended = stream(call, stream_id)
    assert ended["status"] == "ended" and ended["duration_seconds"] is not None
    assert not get_redis().sismember(Keys.LIVE_STREAMS, stream_id)
    event(call, "on-stream-started", "started", stream_id)
    assert stream(call, stream_id)["status"] == "ended", "an ended stream never comes back"


def test_list_streams_filters_sorts_and_pages(call):
    from sqlalchemy import text

    from shared_lib.db import UnitOfWork

    tag = uuid.uuid4().hex[:8]
    ids = []
    for viewers in (5, 50, 20):
        _, token = new_user(call)
        stream_id = create(call, token, title=f"Quiz {tag} night", category="talk-shows").get_json()["id"]
        event(call, "on-stream-started", "started", stream_id)
        with UnitOfWork() as uow:
            uow.session.execute(text("UPDATE live_streams SET viewer_count = :v WHERE id = :i"),
                                {"v": viewers, "i": stream_id})
            uow.commit()
        ids.append(stream_id)
    found = call("list-streams", path=f"/api/streams?q={tag.upper()}&category=talk-shows").get_json()
    assert [s["id"] for s in found["items"]] == [ids[1], ids[2], ids[0]]
    page = call("list-streams", path=f"/api/streams?q={tag}&limit=2").get_json()
    rest = call("list-streams", path=f"/api/streams?q={tag}&limit=2&cursor={page['next_cursor']}")
    assert [s["id"] for s in page["items"] + rest.get_json()["items"]] == [ids[1], ids[2], ids[0]]
    assert call("list-streams", path=f"/api/streams?q={tag}&category=music").get_json()["items"] == []
    assert call("list-streams", path="/api/streams?category=lava").status_code == 400
    everything = call("list-streams", path=f"/api/streams?live=false&q={tag}").get_json()["items"]
    assert [s["id"] for s in everything] == list(reversed(ids))


def test_the_reaper_ends_streams_nobody_has_seen(call):
    from sqlalchemy import text

    from shared_lib.db import UnitOfWork
    from shared_lib.events.models import OutboxEvent
    from shared_lib.streams import services as streams

    _, token = new_user(call)
    stream_id = go_live(call, token)
    with UnitOfWork() as uow:
        uow.session.execute(text("UPDATE live_streams SET last_seen_at = now() - interval '5 minutes'"
                                 " WHERE id = :i"), {"i": stream_id})
        uow.commit()
    with UnitOfWork() as uow:
        streams.reap(uow, stale_seconds=60)
        events = list(uow.recorded)
        uow.commit()
    mine = [e for e in events if e.subject == stream_id]
    assert len(mine) == 1 and mine[0].type == "dev.streamfn.stream.ended"
    with UnitOfWork() as uow:
        assert uow.session.get(OutboxEvent, mine[0].id) is not None, "queued until delivered"
    assert event(call, "on-stream-ended", "ended", stream_id, reason="stale").status_code == 202
    reaped = stream(call, stream_id)
    assert reaped["status"] == "ended"


def test_channel_streams_are_newest_first(call):
    name, token = new_user(call)
    ids = [create(call, token, title=f"Part {i}").get_json()["id"] for i in range(3)]
    listed = call("channel-streams", path=f"/api/users/{name}/streams?limit=2").get_json()
    more = call("channel-streams",
                path=f"/api/users/{name}/streams?limit=2&cursor={listed['next_cursor']}").get_json()
    assert [s["id"] for s in listed["items"] + more["items"]] == list(reversed(ids))
    assert call("channel-streams", path="/api/users/nobody_at_all_x/streams").status_code == 404


def test_a_newer_broadcast_supersedes_a_live_one_of_the_same_channel(call, monkeypatch):
    from local.platform import reset_caches

    monkeypatch.setenv("K_SINK", "http://127.0.0.1:9/")  # a broker that is down
    reset_caches()
    _, token = new_user(call)
    from sqlalchemy import select

    from shared_lib.db import UnitOfWork
    from shared_lib.events.models import OutboxEvent

    first = go_live(call, token)
    second = go_live(call, token)
    assert stream(call, first)["status"] == "ended"
    assert stream(call, second)["status"] == "live"
    with UnitOfWork() as uow:  # the broker is down: the event waits in the outbox
        ended = uow.session.scalars(select(OutboxEvent).where(OutboxEvent.subject == first)).all()
    assert [e.type for e in ended] == ["dev.streamfn.stream.ended"]
    assert ended[0].data["reason"] == "superseded"


def test_the_late_end_of_a_publish_a_reconnect_replaced_does_not_end_the_stream(call):
    """The encoder reconnects onto its live stream (a new publish of the same stream id);
    the end of the first publish arrives after the start of the second."""
    _, token = new_user(call, "rc")
    stream_id = create(call, token).get_json()["id"]
    first, second = "a" * 32, "b" * 32
    assert event(call, "on-stream-started", "started", stream_id, publish_id=first).status_code == 202
    assert event(call, "on-stream-started", "started", stream_id, publish_id=second).status_code == 202
    assert event(call, "on-stream-ended", "ended", stream_id, publish_id=first).status_code == 202
    assert stream(call, stream_id)["status"] == "live", "the reconnected publish carries on"
    assert event(call, "on-stream-ended", "ended", stream_id, publish_id=second).status_code == 202
    assert stream(call, stream_id)["status"] == "ended"


def test_the_directory_answers_from_its_cache_until_an_owner_edit_or_a_second_passes(call):
    from shared_lib.cache import Keys, get_redis

    _, token = new_user(call)
    stream_id = create(call, token).get_json()["id"]
    path = f"/api/streams/{stream_id}"
    assert call("get-stream", path=path).headers["Cache-Control"] == "public, max-age=1"
    # A change no owner made (as the ingest's reports are) shows within the second.
    from sqlalchemy import text

    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        uow.session.execute(text("UPDATE stream_metadata SET title = 'Changed' WHERE stream_id = :id"),
                            {"id": stream_id})
        uow.commit()
    assert call("get-stream", path=path).get_json()["title"] == "Morning chess", "from the cache"
    time.sleep(1.1)
    assert call("get-stream", path=path).get_json()["title"] == "Changed", "a second later"
    version = get_redis().get(Keys.STREAMS_VERSION)
    # ...the owner's own edit at once, to the owner (whose requests carry a token, which no
    # shared cache serves): it bumps the version every process checks for them.
    assert call("update-stream", "PATCH", path, json={"title": "Evening chess"},
                token=token).status_code == 200
    assert get_redis().get(Keys.STREAMS_VERSION) != version
    assert call("get-stream", path=path, token=token).get_json()["title"] == "Evening chess"
    listed = call("list-streams", path="/api/streams?live=false&limit=100", token=token)
    assert any(s["title"] == "Evening chess" for s in listed.get_json()["items"])
    # Anonymous viewers get it within the second, as the front door's cache gives it them.
    time.sleep(1.1)
    assert call("get-stream", path=path).get_json()["title"] == "Evening chess"
