"""Go-live notifications on the real PostgreSQL: fan-out exactly once, the inbox, read marking."""

from __future__ import annotations

import uuid

import pytest

from tests import factories
from tests.integration.test_streams import create, new_user

FOLLOWERS = 25


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 10, so 25 followers take three statements (the batching is exercised)."""
    from shared_lib.notifications import services as notifications

    monkeypatch.setattr(notifications, "FAN_OUT_BATCH", 10)


def went_live(call, stream_id: str, event_id: str | None = None):
    headers, body = factories.stream_event("started", stream_id, id=event_id)
    return call("notify-followers", "POST", "/", data=body, headers=headers)


def inbox(call, token, query=""):
    response = call("list-notifications", path=f"/api/notifications{query}", token=token)
    assert response.status_code == 200, response.get_data()
    return response.get_json()


def channel_with_followers(call, count: int):
    channel, channel_token = new_user(call, "ch")
    call("update-profile", json={"display_name": "Chess Club"}, token=channel_token)
    fans = [new_user(call, "fan") for _ in range(count)]
    for _, token in fans:
        assert call("follow", path=f"/api/users/{channel}/follow", token=token).status_code == 200
    return channel, channel_token, fans


def test_a_go_live_reaches_every_follower_once_however_often_it_is_delivered(call, small_batches):
    _, channel_token, fans = channel_with_followers(call, FOLLOWERS)
    _, stranger = new_user(call, "nf")
    stream_id = create(call, channel_token, title="Sicilian night").get_json()["id"]
    event_id = str(uuid.uuid4())
    for _ in range(3):  # the broker redelivers the same event
        assert went_live(call, stream_id, event_id).status_code == 202
    assert went_live(call, stream_id).status_code == 202  # the sidecar's event sent anew
    for _, token in fans:
        page = inbox(call, token)
        assert page["unread_count"] == 1
        [item] = page["items"]
        assert item["message"] == "Chess Club went live: Sicilian night"
        assert item["stream_id"] == stream_id and item["read"] is False
    assert inbox(call, stranger) == {"items": [], "next_cursor": None, "unread_count": 0}


def test_newest_first_unread_counts_and_marking_read(call):
    _, channel_token, [(_, fan)] = channel_with_followers(call, 1)
    streams = []
    for title in ("one", "two", "three"):
        streams.append(create(call, channel_token, title=title).get_json()["id"])
        assert went_live(call, streams[-1]).status_code == 202
    page = inbox(call, fan)
    assert [i["title"] for i in page["items"]] == ["three", "two", "one"]
    assert page["unread_count"] == 3
    first = inbox(call, fan, "?limit=2")
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = inbox(call, fan, f"?limit=2&cursor={first['next_cursor']}")
    assert [i["title"] for i in rest["items"]] == ["one"] and rest["next_cursor"] is None

    newest = page["items"][0]["id"]
    marked = call("mark-notifications-read", json={"ids": [newest]}, token=fan).get_json()
    assert marked == {"marked": 1, "unread_count": 2}
    assert [i["title"] for i in inbox(call, fan, "?unread=true")["items"]] == ["two", "one"]
    # Someone else's notification is not yours to mark.
    _, other = new_user(call, "nf")
    assert call("mark-notifications-read", json={"ids": [page["items"][1]["id"]]},
                token=other).get_json() == {"marked": 0, "unread_count": 0}
    assert call("mark-notifications-read", json={"all": True}, token=fan).get_json() == {
        "marked": 2, "unread_count": 0}
    assert all(i["read"] for i in inbox(call, fan)["items"])


def test_bad_requests_are_clear_400s_and_the_inbox_needs_a_login(call):
    _, token = new_user(call, "nf")
    for body in ({}, {"ids": []}, {"ids": [1], "all": True}, {"all": False}, {"ids": ["x"]},
                 {"ids": list(range(101))}, {"everything": True}):
        response = call("mark-notifications-read", json=body, token=token)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == "invalid_input"
    assert call("list-notifications").status_code == 401
    assert call("list-notifications", path="/api/notifications?cursor=zz", token=token).status_code == 400


def test_an_event_for_an_unknown_stream_is_acknowledged_and_adds_nothing(call):
    assert went_live(call, str(uuid.uuid4())).status_code == 202
    assert went_live(call, "not-a-uuid").status_code == 202
