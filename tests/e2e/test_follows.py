"""Following through the gateway, with the follow events arriving at the broker."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import http, register_user


@pytest.fixture
def received(recorded):
    return recorded("dev.streamfn.user.followed", "dev.streamfn.user.unfollowed")


def test_follow_changes_emit_one_event_each_and_repeats_emit_none(platform, received):
    api = platform.api_url
    channel, _ = register_user(api, "ch")
    fan, tokens = register_user(api)
    url = f"{api}/api/users/{channel}/follow"
    for _ in range(2):
        assert http("PUT", url, token=tokens["access_token"]).status == 200
    for _ in range(2):
        assert http("DELETE", url, token=tokens["access_token"]).status == 200
    types = [headers["ce-type"] for headers, _ in received.settle(2)]
    assert types == ["dev.streamfn.user.followed", "dev.streamfn.user.unfollowed"]
    headers, data = received[0]
    assert headers["ce-source"] == "/functions/follow"
    assert headers["ce-subject"] == data["followed_id"]
    assert data["followed_username"] == channel
    profile = http("GET", f"{api}/api/users/{channel}").json()
    assert profile["followers_count"] == 0
