"""Recommendations on the real PostgreSQL and Redis: every reason, the exclusions, the
fallbacks, live status at read time, and a failed recompute keeping what was there."""

from __future__ import annotations

import uuid

import pytest

from shared_lib.db import UnitOfWork
from tests.integration.test_streams import create, event, new_user


def channel(call, *, category: str, live: bool = True):
    name, token = new_user(call, "rc")
    stream_id = create(call, token, title=f"{name} show", category=category).get_json()["id"]
    if live:
        event(call, "on-stream-started", "started", stream_id)
    return name, token, stream_id


def user_id(name: str) -> uuid.UUID:
    with UnitOfWork() as uow:
        return uow.users.get_by_username(name).id


def follow(call, token, name):
    assert call("follow", path=f"/api/users/{name}/follow", token=token).status_code == 200


def watched(viewer: str, channel_name: str, seconds: int = 600):
    with UnitOfWork() as uow:
        uow.analytics.add_channel_views(user_id(channel_name), {user_id(viewer): seconds * 1000})
        uow.commit()


def recompute(**kwargs):
    from shared_lib.db import batch_engine
    from shared_lib.recommendations import ranking, recompute

    result = recompute.recompute(batch_engine(), **kwargs)
    ranking.new_generation()
    return result


def streams_for(call, token=None):
    response = call("recommended-streams", path="/api/recommendations/streams?limit=100", token=token)
    assert response.status_code == 200
    return [(item["stream"]["user"]["username"], item["reason"]) for item in response.get_json()["items"]]


def users_for(call, token):
    response = call("recommended-users", path="/api/recommendations/users?limit=100", token=token)
    assert response.status_code == 200
    return [(item["user"]["username"], item["reason"]) for item in response.get_json()["items"]]


def test_followed_live_channels_come_first_even_if_followed_after_the_recompute(call):
    viewer, token = new_user(call)
    early, _, _ = channel(call, category="gaming")
    follow(call, token, early)
    recompute()
    late, _, _ = channel(call, category="gaming")
    follow(call, token, late)  # after the recompute: read-time live status and follows
    ranked = streams_for(call, token)
    top = dict(ranked[:2])
    assert set(top) == {early, late}
    assert top[late].startswith("You follow ")


def test_category_and_co_viewing_reasons(call):
    viewer, token = new_user(call)
    watched_before, _, _ = channel(call, category="food-drink", live=False)
    popular, _, _ = channel(call, category="food-drink")
    for _ in range(3):
        fan, fan_token = new_user(call)
        follow(call, fan_token, popular)
    watched(viewer, watched_before)
    seen, _, _ = channel(call, category="travel-outdoors", live=False)
    also, _, _ = channel(call, category="special-events")
    for _ in range(4):
        other, _ = new_user(call)
        watched(other, seen)
        watched(other, also)
    watched(viewer, seen)
    recompute()
    reasons = dict(streams_for(call, token))
    assert reasons[popular] == "Popular in Food & Drink"
    assert reasons[also] == f"Viewers like you watched {also}"


def test_friends_of_friends_with_their_mutual_count_never_yourself_or_followed(call):
    viewer, token = new_user(call)
    target, _, _ = channel(call, category="art", live=False)
    known, _, _ = channel(call, category="art", live=False)
    follow(call, token, known)
    for _ in range(3):
        friend, friend_token = new_user(call)
        follow(call, token, friend)
        follow(call, friend_token, target)
        follow(call, friend_token, known)
        follow(call, friend_token, viewer)
    recompute()
    suggestions = dict(users_for(call, token))
    assert suggestions[target] == "Followed by 3 people you follow"
    assert viewer not in suggestions and known not in suggestions
    follow(call, token, target)  # followed since the recompute: gone at once
    assert target not in dict(users_for(call, token))


def test_channels_to_follow_whose_audience_is_yours_first(call):
    viewer, token = new_user(call)
    liked, _, _ = channel(call, category="music", live=False)
    alike, _, _ = channel(call, category="travel-outdoors", live=False)
    follow(call, token, liked)
    for _ in range(3):  # liked's followers follow alike too; nobody viewer follows does
        _, fan_token = new_user(call)
        follow(call, fan_token, liked)
        follow(call, fan_token, alike)
    recompute()
    suggestions = users_for(call, token)
    assert suggestions[0] == (alike, f"Viewers like you watched {alike}")
    assert liked not in dict(suggestions)


def test_anonymous_and_new_users_get_what_is_popular(call):
    quiet, _, quiet_stream = channel(call, category="sports")
    busy, _, busy_stream = channel(call, category="sports")
    for stream_id, viewers in ((quiet_stream, 1), (busy_stream, 4)):
        for _ in range(viewers):
            joined = call("record-view", path=f"/api/streams/{stream_id}/views",
                          json={"session_id": str(uuid.uuid4()), "action": "join"})
            assert joined.status_code == 202
    anonymous = streams_for(call)
    names = [name for name, _ in anonymous]
    assert names.index(busy) < names.index(quiet)
    assert dict(anonymous)[busy] == "Popular in Sports"
    newcomer, token = new_user(call)
    assert [name for name, _ in streams_for(call, token)] == names
    suggestions = users_for(call, token)
    assert suggestions and all(name != newcomer for name, _ in suggestions)


def test_recommendations_need_a_login_for_channels(call):
    assert call("recommended-users").status_code == 401


def test_a_recompute_that_fails_half_way_leaves_the_previous_results(call):
    from sqlalchemy import text

    viewer, token = new_user(call)
    target, _, _ = channel(call, category="art", live=False)
    friend, friend_token = new_user(call)
    follow(call, token, friend)
    follow(call, friend_token, target)
    recompute()
    with UnitOfWork() as uow:
        before = uow.session.execute(text("SELECT count(*) FROM recommended_users")).scalar()
    with pytest.raises(RuntimeError):
        recompute(batch=1, fail_after_batches=1)
    with UnitOfWork() as uow:
        after = uow.session.execute(text("SELECT count(*) FROM recommended_users")).scalar()
        staging = uow.session.execute(text(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'recommended_%_next'")).scalar()
    assert after == before > 0 and staging == 0
    assert dict(users_for(call, token))[target] == "Followed by 1 person you follow"
