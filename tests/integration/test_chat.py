"""Chat (functions/chat.py) on the real PostgreSQL and Redis: posting, history, every refusal
of DESIGN.md §10 with its status, moderation, and the events a room's stream carries."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from tests import factories


def room(call, prefix="ch"):
    """A channel: (username, token)."""
    return factories.new_user(call, prefix)


def send(call, channel, token, text):
    return call("send-chat-message", path=f"/api/chat/{channel}/messages", json={"text": text},
                token=token)


def history(call, channel, query=""):
    response = call("chat-history", path=f"/api/chat/{channel}/messages{query}")
    assert response.status_code == 200
    return [m["text"] for m in response.get_json()["items"]]


def settings(call, channel, token, **change):
    return call("update-chat-settings", path=f"/api/chat/{channel}/settings", json=change,
                token=token)


def ban(call, channel, token, target, **body):
    return call("ban-chat-user", path=f"/api/chat/{channel}/bans/{target}", json=body, token=token)


def room_events(channel_id):
    from shared_lib.cache import Keys, get_redis

    entries = get_redis().xrange(Keys.chat_room(channel_id))
    return [(fields["type"], json.loads(fields["data"])) for _, fields in entries]


def user_id(call, token):
    return call("me", token=token).get_json()["id"]


def test_a_message_is_stored_shown_as_sent_and_announced(call):
    channel, owner = room(call)
    viewer, token = factories.new_user(call, "v")
    sent = send(call, channel, token, "  <script>alert(1)</script> hello  ")
    assert sent.status_code == 201
    message = sent.get_json()
    assert message["text"] == "<script>alert(1)</script> hello", "text, as written, trimmed"
    assert message["user"]["username"] == viewer and message["stream_id"] is None
    assert history(call, channel) == ["<script>alert(1)</script> hello"]
    kinds = room_events(user_id(call, owner))
    assert kinds[-1][0] == "message" and kinds[-1][1]["id"] == message["id"]


def test_history_is_the_last_messages_oldest_first(call):
    channel, owner = room(call)
    for n in range(5):
        assert send(call, channel, owner, f"m{n}").status_code == 201
    assert history(call, channel) == ["m0", "m1", "m2", "m3", "m4"]
    assert history(call, channel, "?limit=2") == ["m3", "m4"]
    assert call("chat-history", path=f"/api/chat/{channel}/messages?limit=0").status_code == 400
    assert call("chat-history", path="/api/chat/nobody_here_x/messages").status_code == 404


def test_posting_needs_a_token(call):
    channel, _ = room(call)
    assert call("send-chat-message", path=f"/api/chat/{channel}/messages",
                json={"text": "hi"}).status_code == 401


@pytest.mark.parametrize("text", ["", "   ", "x" * 501, "two\nlines", "nul\x00"])
def test_empty_long_or_control_text_is_400_and_not_stored(call, text):
    channel, owner = room(call)
    assert send(call, channel, owner, text).status_code == 400
    assert history(call, channel) == []


def test_a_blocked_term_is_400_and_the_message_not_stored(call):
    channel, owner = room(call)
    _, token = factories.new_user(call, "v")
    assert settings(call, channel, owner, blocked_terms=["  Spoiler "]).get_json()[
        "blocked_terms"] == ["spoiler"]
    refused = send(call, channel, token, "big SPOILER ahead")
    assert refused.status_code == 400
    assert refused.get_json()["error"]["details"][0]["reason"] == "blocked_term"
    assert send(call, channel, token, "no spoilers").status_code == 201
    assert history(call, channel) == ["no spoilers"]


def test_a_timeout_is_403_until_when_and_then_ends(call):
    from sqlalchemy import text

    from shared_lib.db import UnitOfWork

    channel, owner = room(call)
    viewer, token = factories.new_user(call, "v")
    timed = ban(call, channel, owner, viewer, duration_seconds=600, reason="calm down")
    assert timed.status_code == 200 and timed.get_json()["until"]
    refused = send(call, channel, token, "hello?")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["details"][0]["reason"] == "timed_out"
    with UnitOfWork() as uow:  # ten minutes pass
        uow.session.execute(text("UPDATE chat_bans SET until = now() - interval '1 second' "
                                 "WHERE user_id = :u"), {"u": user_id(call, token)})
        uow.commit()
    assert send(call, channel, token, "back").status_code == 201
    assert [e for e in room_events(user_id(call, owner)) if e[0] == "ban"][-1][1]["until"]


def test_a_ban_holds_until_lifted_and_old_messages_stay(call):
    channel, owner = room(call)
    viewer, token = factories.new_user(call, "v")
    assert send(call, channel, token, "before").status_code == 201
    assert ban(call, channel, owner, viewer).get_json()["until"] is None
    refused = send(call, channel, token, "after")
    assert refused.status_code == 403 and refused.get_json()["error"]["details"][0]["reason"] == "banned"
    assert history(call, channel) == ["before"], "a banned user's messages stay readable"
    lifted = call("unban-chat-user", path=f"/api/chat/{channel}/bans/{viewer}", token=owner)
    assert lifted.status_code == 200 and lifted.get_json()["banned"] is False
    assert send(call, channel, token, "after").status_code == 201
    bans = [data for kind, data in room_events(user_id(call, owner)) if kind == "ban"]
    assert bans[0]["until"] is None and bans[1]["until"], "the lift goes out as a ban that ended"
    assert datetime.fromisoformat(bans[1]["until"]) <= datetime.now(UTC)
    again = call("unban-chat-user", path=f"/api/chat/{channel}/bans/{viewer}", token=owner)
    assert again.status_code == 200
    assert len([k for k, _ in room_events(user_id(call, owner)) if k == "ban"]) == 2, \
        "lifting no ban announces nothing"


def test_only_the_owner_and_moderators_moderate(call):
    channel, owner = room(call)
    mod, mod_token = factories.new_user(call, "m")
    viewer, token = factories.new_user(call, "v")
    other, other_token = factories.new_user(call, "o")
    assert ban(call, channel, token, other).status_code == 403
    assert call("add-chat-moderator", path=f"/api/chat/{channel}/moderators/{mod}",
                token=token).status_code == 403, "only the owner appoints"
    appointed = call("add-chat-moderator", path=f"/api/chat/{channel}/moderators/{mod}", token=owner)
    assert appointed.status_code == 200 and appointed.get_json()["moderator"] is True
    assert ban(call, channel, mod_token, other, duration_seconds=60).status_code == 200
    assert ban(call, channel, mod_token, channel).status_code == 403, "never the owner"
    mod2, _ = factories.new_user(call, "m2")
    call("add-chat-moderator", path=f"/api/chat/{channel}/moderators/{mod2}", token=owner)
    assert ban(call, channel, mod_token, mod2).status_code == 403, "a moderator is the owner's to ban"
    assert settings(call, channel, token, slow_mode_seconds=5).status_code == 403
    assert settings(call, channel, mod_token, slow_mode_seconds=5).status_code == 200
    dismissed = call("remove-chat-moderator", path=f"/api/chat/{channel}/moderators/{mod}",
                     token=owner)
    assert dismissed.get_json()["moderator"] is False
    assert ban(call, channel, mod_token, other).status_code == 403


def test_a_deleted_message_leaves_history_for_everyone(call):
    channel, owner = room(call)
    _, token = factories.new_user(call, "v")
    message = send(call, channel, token, "regrettable").get_json()
    path = f"/api/chat/{channel}/messages/{message['id']}"
    assert call("delete-chat-message", path=path, token=token).status_code == 403
    assert call("delete-chat-message", path=path, token=owner).status_code == 204
    assert history(call, channel) == []
    assert call("delete-chat-message", path=path, token=owner).status_code == 404
    assert call("delete-chat-message", path=f"/api/chat/{channel}/messages/x1",
                token=owner).status_code == 404
    assert ("delete", {"id": message["id"]}) in room_events(user_id(call, owner))


def test_slow_mode_is_429_with_retry_after_and_spares_the_staff(call):
    channel, owner = room(call)
    _, token = factories.new_user(call, "v")
    assert settings(call, channel, owner, slow_mode_seconds=30).get_json()["slow_mode_seconds"] == 30
    assert send(call, channel, token, "one").status_code == 201
    refused = send(call, channel, token, "two")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 30
    assert refused.get_json()["error"]["details"][0]["reason"] == "slow_mode"
    assert send(call, channel, owner, "a").status_code == send(call, channel, owner, "b").status_code == 201


def test_the_rate_limit_holds_with_slow_mode_off(call):
    from shared_lib.chat.limits import RATE_LIMIT

    channel, _ = room(call)
    _, token = factories.new_user(call, "v")
    answers = [send(call, channel, token, f"m{n}").status_code for n in range(RATE_LIMIT + 1)]
    assert answers[:RATE_LIMIT] == [201] * RATE_LIMIT and answers[-1] == 429


def test_follower_only_mode_says_how_long_to_follow(call):
    channel, owner = room(call)
    _, token = factories.new_user(call, "v")
    assert settings(call, channel, owner, followers_only_minutes=0).status_code == 200
    refused = send(call, channel, token, "hi")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["details"][0]["reason"] == "followers_only"
    call("follow", path=f"/api/users/{channel}/follow", token=token)
    assert send(call, channel, token, "hi").status_code == 201
    assert settings(call, channel, owner, followers_only_minutes=10).status_code == 200
    assert send(call, channel, token, "again").status_code == 403, "followed for 10 minutes"
    assert settings(call, channel, owner, followers_only_minutes=None).get_json()[
        "followers_only_minutes"] is None
    assert send(call, channel, token, "again").status_code == 201


def test_settings_are_public_and_bad_values_are_400(call):
    channel, owner = room(call)
    shown = call("chat-settings", path=f"/api/chat/{channel}/settings")
    assert shown.get_json() == {"slow_mode_seconds": 0, "followers_only_minutes": None,
                                "blocked_terms": []}
    for bad in ({"slow_mode_seconds": -1}, {"slow_mode_seconds": None}, {"blocked_terms": [""]},
                {"blocked_terms": ["a\x07"]}, {"followers_only_minutes": 10**9}, {"x": 1}):
        assert settings(call, channel, owner, **bad).status_code == 400, bad


def test_a_message_sent_during_a_broadcast_names_the_stream(call):
    from tests.integration.test_streams import go_live

    channel, owner = room(call)
    stream_id = go_live(call, owner)
    sent = send(call, channel, owner, "we are live").get_json()
    assert sent["stream_id"] == stream_id


def test_a_streams_chat_replays_as_it_happened_oldest_first_in_pages(call):
    from tests.integration.test_streams import go_live

    channel, owner = room(call)
    send(call, channel, owner, "before the stream")
    stream_id = go_live(call, owner)
    sent = [send(call, channel, owner, f"live {n}").get_json() for n in range(5)]
    assert call("delete-chat-message", path=f"/api/chat/{channel}/messages/{sent[1]['id']}",
                token=owner).status_code == 204
    url = f"/api/streams/{stream_id}/chat?limit=2"
    first = call("stream-chat", path=url).get_json()
    assert [m["text"] for m in first["items"]] == ["live 0", "live 2"], "deleted ones stay gone"
    second = call("stream-chat", path=f"{url}&cursor={first['next_cursor']}").get_json()
    assert [m["text"] for m in second["items"]] == ["live 3", "live 4"]
    since = sent[3]["sent_at"].replace("+00:00", "Z")
    seek = call("stream-chat", path=f"/api/streams/{stream_id}/chat?since={since}").get_json()
    assert [m["text"] for m in seek["items"]] == ["live 3", "live 4"] and seek["next_cursor"] is None
    assert call("stream-chat", path=f"/api/streams/{uuid.uuid4()}/chat").status_code == 404
    assert call("stream-chat", path=f"{url}&cursor=bogus").status_code == 400


def test_the_moderators_are_listed_for_everyone_as_the_owner_appoints_them(call):
    channel, owner = room(call)
    moderator, _ = factories.new_user(call, "m")

    def listed():
        answer = call("chat-moderators", path=f"/api/chat/{channel}/moderators")
        assert answer.status_code == 200
        return [u["username"] for u in answer.get_json()["items"]]

    assert listed() == []
    assert call("add-chat-moderator", path=f"/api/chat/{channel}/moderators/{moderator}",
                token=owner).status_code == 200
    assert listed() == [moderator]
    assert call("remove-chat-moderator", method="DELETE",
                path=f"/api/chat/{channel}/moderators/{moderator}", token=owner).status_code == 200
    assert listed() == []
