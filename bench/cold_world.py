"""The world cold_start.py's first requests are made in: a channel and a viewer with tokens,
a live stream and a replay, a clip, a chat message, a webhook, a dead letter, a session to
refresh; every HTTP function's valid request and every event function's valid event,
with {placeholders} for the ids made."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

from harness import request

PING = "dev.knative.sources.ping"


@dataclass
class World:
    """What the requests name: made once through the API (and SQL where only media makes it)."""

    owner: str = ""
    owner_token: str = ""
    fan: str = ""
    fan_token: str = ""
    helper: str = ""
    stream_id: str = ""
    replay_id: str = ""
    clip_id: str = ""
    webhook_id: str = ""
    letter_id: int = 0
    stream_key: str = ""
    refresh_token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def api(port: int, method: str, path: str, body: Any = None, token: str | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, Any]:
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    status, raw = request(port, method, path, None if body is None else json.dumps(body).encode(),
                          sent, timeout=60)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw


def register(port: int, prefix: str) -> tuple[str, str, str]:
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    status, body = api(port, "POST", "/api/auth/register", {
        "username": name, "email": f"{name}@example.com", "password": "correct horse battery"})
    assert status == 201, body
    return name, body["access_token"], body["refresh_token"]


def build_world(port: int) -> World:
    """Accounts, a follow, a live stream, a replay, a chat room and a webhook."""
    from sqlalchemy import text

    from shared_lib.db import UnitOfWork

    w = World()
    w.owner, w.owner_token, _ = register(port, "co")
    w.fan, w.fan_token, w.refresh_token = register(port, "cf")
    w.helper, _, _ = register(port, "ch")
    status, body = api(port, "POST", "/api/streams", {"title": "cold start"}, w.owner_token)
    assert status == 201, body
    w.stream_id = body["id"]
    status, body = api(port, "POST", "/api/streams/key", {}, w.owner_token)
    assert status == 200, body
    w.stream_key = body["stream_key"]
    assert api(port, "PUT", f"/api/users/{w.owner}/follow", None, w.fan_token)[0] == 200
    with UnitOfWork() as uow:  # what only media makes: a live stream, its replay, a clip
        replay = str(uuid.uuid4())
        owner_id = uow.users.get_by_username(w.owner).id
        uow.session.execute(text(
            "UPDATE live_streams SET status = 'live', started_at = now() WHERE id = :s"),
            {"s": w.stream_id})
        uow.session.execute(text(
            "INSERT INTO live_streams (id, user_id, status, created_at, started_at, ended_at) "
            "VALUES (:r, :u, 'ended', now() - interval '1 hour', now() - interval '1 hour', now())"),
            {"r": replay, "u": owner_id})
        uow.session.execute(text(
            "INSERT INTO stream_metadata (stream_id, title) VALUES (:r, 'replay')"), {"r": replay})
        uow.session.execute(text(
            "INSERT INTO recordings (stream_id, status, duration_seconds, size_bytes, ready_at) "
            "VALUES (:r, 'ready', 60, 1000, now())"), {"r": replay})
        uow.commit()
    w.replay_id = replay
    w.extra["owner_id"] = str(owner_id)
    status, body = api(port, "POST", f"/api/chat/{w.owner}/messages", {"text": "hello"}, w.fan_token)
    assert status == 201, body
    status, body = api(port, "POST", "/api/webhooks", {"url": "http://127.0.0.1:9/in"},
                       w.owner_token)
    assert status == 201, body
    w.webhook_id = body["id"]
    return w


def clip(w: World) -> str:
    """A ready clip of the replay (cut-clip would need the media), made before each use."""
    from sqlalchemy import text

    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        clip_id = str(uuid.uuid4())
        uow.session.execute(text(
            "INSERT INTO clips (id, stream_id, channel_id, clipped_by, title, seconds, status, "
            "duration_seconds, ready_at) SELECT :c, :s, user_id, user_id, 'clip', 10, 'ready', "
            "10, now() FROM live_streams WHERE id = :s"), {"c": clip_id, "s": w.replay_id})
        uow.commit()
    return clip_id


def dead_letter(w: World) -> int:
    """A dead letter of a real event to replay (the replay sends it back through the broker)."""
    from shared_lib.db import UnitOfWork
    from shared_lib.events.models import DeadLetter
    from tests.factories import cloudevent

    headers, body = cloudevent("dev.streamfn.user.followed", {"n": 1}, source="/bench")
    with UnitOfWork() as uow:
        letter = DeadLetter(subscriber="webhooks-user-followed", event_type=headers["ce-type"],
                            event_source="/bench", event_id=headers["ce-id"], headers=headers,
                            body=body, reason="bench", attempts=1)
        uow.session.add(letter)
        uow.commit()
    return letter.id


def http_requests(w: World) -> dict[str, tuple]:
    """(method, path, body, token, extra headers) of each HTTP function's real request."""
    own, fan = w.owner_token, w.fan_token
    internal = {"X-Streamfn-Ingest-Secret": os.environ["STREAMFN_INGEST_SECRET"]}
    room = f"/api/chat/{w.owner}"
    return {
        "add-chat-moderator": ("PUT", f"{room}/moderators/{w.helper}", None, own),
        "remove-chat-moderator": ("DELETE", f"{room}/moderators/{w.helper}", None, own),
        "authorize-publish": ("POST", "/internal/ingest/authorize",
                              {"stream_key": w.stream_key, "phase": "update"}, None, internal),
        "ingest-report": ("POST", "/internal/ingest/report", {"streams": [
            {"stream_id": w.stream_id, "video_codec": "h264", "width": 1280, "height": 720}]},
            None, internal),
        "list-dead-letters": ("GET", "/internal/dead-letters", None, None, internal),
        "replay-dead-letter": ("POST", "/internal/dead-letters/{letter}/replay", None, None,
                               internal),
        "ban-chat-user": ("PUT", f"{room}/bans/{w.helper}", {"duration_seconds": 60}, own),
        "unban-chat-user": ("DELETE", f"{room}/bans/{w.helper}", None, own),
        "channel-analytics": ("GET", "/api/analytics/channel", None, own),
        "channel-clips": ("GET", f"/api/users/{w.owner}/clips", None, None),
        "channel-streams": ("GET", f"/api/users/{w.owner}/streams", None, None),
        "chat-history": ("GET", f"{room}/messages", None, None),
        "chat-moderators": ("GET", f"{room}/moderators", None, None),
        "chat-settings": ("GET", f"{room}/settings", None, None),
        "chat-events": ("GET", f"{room}/events", None, None),  # the stream's headers
        "update-chat-settings": ("PATCH", f"{room}/settings", {"slow_mode_seconds": 0}, own),
        "send-chat-message": ("POST", f"{room}/messages", {"text": "hi"}, fan),
        "delete-chat-message": ("DELETE", f"{room}/messages/{{message}}", None, own),
        "create-clip": ("POST", "/api/streams/{replay}/clips",
                        {"seconds": 10, "ends_at": 30}, fan),
        "get-clip": ("GET", "/api/clips/{clip}", None, None),
        "delete-clip": ("DELETE", "/api/clips/{clip}", None, own),
        "create-stream": ("POST", "/api/streams", {"title": "another"}, own),
        "get-stream": ("GET", f"/api/streams/{w.stream_id}", None, None),
        "update-stream": ("PATCH", f"/api/streams/{w.stream_id}", {"title": "renamed"}, own),
        "list-streams": ("GET", "/api/streams", None, None),
        "stream-analytics": ("GET", f"/api/streams/{w.stream_id}/analytics", None, own),
        "stream-chat": ("GET", f"/api/streams/{w.replay_id}/chat", None, None),
        "record-view": ("POST", f"/api/streams/{w.stream_id}/views",
                        {"session_id": str(uuid.uuid4()), "action": "join"}, fan),
        "delete-replay": ("DELETE", "/api/streams/{replay}/replay", None, own),
        "rotate-stream-key": ("POST", "/api/streams/key", {}, own),
        "create-webhook": ("POST", "/api/webhooks", {"url": "http://127.0.0.1:9/b"}, own),
        "list-webhooks": ("GET", "/api/webhooks", None, own),
        "list-webhook-deliveries": ("GET", f"/api/webhooks/{w.webhook_id}/deliveries", None, own),
        "delete-webhook": ("DELETE", "/api/webhooks/{webhook}", None, own),
        "follow": ("PUT", f"/api/users/{w.owner}/follow", None, fan),
        "unfollow": ("DELETE", f"/api/users/{w.owner}/follow", None, fan),
        "follow-status": ("GET", f"/api/users/{w.owner}/follow", None, fan),
        "list-followers": ("GET", f"/api/users/{w.owner}/followers", None, None),
        "list-following": ("GET", f"/api/users/{w.fan}/following", None, None),
        "get-profile": ("GET", f"/api/users/{w.owner}", None, None),
        "search-users": ("GET", f"/api/users?q={w.owner[:4]}", None, None),
        "update-profile": ("PATCH", "/api/users/me", {"bio": "cold"}, fan),
        "jwks": ("GET", "/api/auth/jwks.json", None, None),
        "openapi": ("GET", "/api/openapi.json", None, None),
        "login": ("POST", "/api/auth/login", {"username": w.fan, "password": "correct horse battery"},
                  None),
        "logout": ("POST", "/api/auth/logout", {}, "{session}"),
        "me": ("GET", "/api/auth/me", None, fan),
        "refresh": ("POST", "/api/auth/refresh", {"refresh_token": "{refresh}"}, None),
        "register": ("POST", "/api/auth/register", "{registration}", None),
        "list-notifications": ("GET", "/api/notifications", None, fan),
        "mark-notifications-read": ("POST", "/api/notifications/read", {"all": True}, fan),
        "recommended-streams": ("GET", "/api/recommendations/streams", None, fan),
        "recommended-users": ("GET", "/api/recommendations/users", None, fan),
    }


def event_requests(w: World) -> dict[str, tuple[str, dict]]:
    started = {"stream_id": w.stream_id, "user_id": w.extra["owner_id"], "username": w.owner,
               "title": "cold start"}
    return {
        "notify-followers": ("dev.streamfn.stream.started", started),
        "on-stream-started": ("dev.streamfn.stream.started", started),
        "webhooks-stream-started": ("dev.streamfn.stream.started", started),
        "on-stream-ended": ("dev.streamfn.stream.ended", {"stream_id": w.replay_id}),
        "finalize-stream-analytics": ("dev.streamfn.stream.ended", {"stream_id": w.replay_id}),
        "webhooks-stream-ended": ("dev.streamfn.stream.ended", {"stream_id": w.replay_id}),
        "webhooks-user-followed": ("dev.streamfn.user.followed", {
            "follower_id": "{fan_id}", "followed_id": w.extra["owner_id"],
            "followed_username": w.owner, "at": "2026-01-01T00:00:00+00:00"}),
        "on-recording-completed": ("dev.streamfn.recording.completed",
                                   {"stream_id": w.replay_id, "path": "/nonexistent.flv"}),
        "cut-clip": ("dev.streamfn.clip.requested", {"clip_id": "{clip}"}),
        "deliver-webhook": ("dev.streamfn.webhook.delivery.requested", {"delivery_id": 0}),
        "store-dead-letter": ("dev.streamfn.user.followed", {"n": 1}),
    }


def fill(value: Any, w: World, port: int) -> Any:
    """Ids made fresh for requests that use one up (a clip deleted, a replay deleted, ...)."""
    if isinstance(value, dict):
        return {k: fill(v, w, port) for k, v in value.items()}
    if not isinstance(value, str) or "{" not in value:
        return value
    if value == "{registration}":
        name = f"cr{uuid.uuid4().hex[:8]}"
        return {"username": name, "email": f"{name}@example.com", "password": "correct horse battery"}
    if value in ("{session}", "{refresh}"):
        _, token, refresh = register(port, "cs")
        return token if value == "{session}" else refresh
    if "{clip}" in value:
        return value.replace("{clip}", clip(w))
    if "{letter}" in value:
        return value.replace("{letter}", str(dead_letter(w)))
    if "{message}" in value:
        _, body = api(port, "POST", f"/api/chat/{w.owner}/messages", {"text": "hello"},
                      w.fan_token)
        return value.replace("{message}", str(body["id"]))
    if "{fan_id}" in value:
        return value.replace("{fan_id}", w.extra["owner_id"])
    if "{webhook}" in value:
        _, body = api(port, "POST", "/api/webhooks", {"url": "http://127.0.0.1:9/d"},
                      w.owner_token)
        return value.replace("{webhook}", body["id"])
    if "{replay}" in value:
        from sqlalchemy import text

        from shared_lib.db import UnitOfWork

        with UnitOfWork() as uow:
            uow.session.execute(text(
                "UPDATE recordings SET status = 'ready', removed_at = NULL WHERE stream_id = :r"),
                {"r": w.replay_id})
            uow.commit()
        return value.replace("{replay}", w.replay_id)
    return value
