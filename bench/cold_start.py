"""Cold start as a client meets it: every function's first *real* request from zero.

The whole one-machine platform runs (front door, runtime, broker, PostgreSQL, Redis), with
idle functions scaling to zero after IDLE seconds. Each round waits until a function has no
instance, then sends it what a client sends: a valid token, a valid body, ids that exist
(a channel, its stream, a replay, a clip, a chat message, a webhook, a dead letter, all made
first). HTTP functions are asked through the front door; event and scheduled functions on
their own port, as the broker reaches them, with a real CloudEvent and the OIDC token the
broker presents. The time is from the request to its first *successful* (2xx) answer.

Two baselines behind the same front door, started the same way in the same rounds:
`hello-world` (bare functions-framework) and `hello-libs` (the same third-party imports as
the functions and a PostgreSQL and a Redis connection opened before answering). Targets:
every function <= 2.5x hello-world and <= 1.3x hello-libs.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from harness import median, request

from shared_lib.catalog import HTTP, FunctionSpec  # noqa: E402 - after harness sets the path

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
IDLE = 2.0
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
BASELINES = [
    FunctionSpec(name="hello-world", target="hello", module="../bench/hello", kind=HTTP,
                 method="GET", path="/api/bench/hello"),
    FunctionSpec(name="hello-libs", target="hello_libs", module="../bench/hello_libs", kind=HTTP,
                 method="GET", path="/api/bench/hello-libs"),
]
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


def wait_cold(platform, name: str) -> None:
    deadline = time.monotonic() + 60
    while platform.runtime.status()[name]["running"] and time.monotonic() < deadline:
        time.sleep(0.05)


def first_request(platform, spec: FunctionSpec, w: World, routes: dict, events: dict,
                  tokens) -> tuple[float, int]:
    """Seconds from the request to a function with no instance to its answer, and the status."""
    ports = platform.ports
    if spec.name in {b.name for b in BASELINES}:
        prepared: tuple = (ports.api, spec.method, spec.path, None, {})
    elif spec.kind == HTTP:
        method, path, body, token, *extra = routes[spec.name]
        headers = dict(extra[0]) if extra else {}
        token = fill(token, w, ports.api)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = fill(body, w, ports.api)
        raw = None if body is None else json.dumps(body).encode()
        if raw is not None:
            headers["Content-Type"] = "application/json"
        prepared = (ports.internal if spec.internal else ports.api, method, fill(path, w, ports.api),
                    raw, headers)
    else:
        from tests.factories import cloudevent

        if spec.kind == "schedule":
            kind, data = PING, {}
            source = f"/apis/v1/namespaces/streamfn/pingsources/{spec.name}"
        else:
            kind, data = events[spec.name]
            source = "/bench/cold-start"
        headers, body = cloudevent(kind, fill(data, w, ports.api), source=source)
        headers["Authorization"] = f"Bearer {tokens(spec.name)}"
        prepared = (platform.runtime.instances[spec.name].port, "POST", "/", body, headers)
    wait_cold(platform, spec.name)
    began = time.monotonic()
    if spec.asgi:  # an event stream: answered once its headers arrive
        connection = http.client.HTTPConnection("127.0.0.1", prepared[0], timeout=60)
        try:
            connection.request(*prepared[1:4], headers=prepared[4])
            status = connection.getresponse().status
        finally:
            connection.close()
    else:
        status, _ = request(*prepared, timeout=60)
    return time.monotonic() - began, status


def main() -> None:
    from local import issuer
    from local.platform import Platform
    from local.services import Profile
    from local.settings import Ports
    from tests.e2e.conftest import free_port

    ports = Ports(api=free_port(), hls=free_port(), internal=free_port(), rtmp=free_port(),
                  rtmps=free_port(), stat=free_port(), sidecar=free_port(), functions=23000)
    profile = Profile("bench-runtime", pg_port=free_port(), redis_port=free_port())
    platform = Platform(profile, ports, environment="development", schedule=False,
                        idle_seconds=IDLE, scale_down_seconds=5, extra_specs=BASELINES)
    platform.start()
    os.environ.update(platform.env)
    try:
        from local.platform import reset_caches

        reset_caches()
        w = build_world(ports.api)
        routes, events = http_requests(w), event_requests(w)
        tokens = issuer.SubscriberTokens(issuer.Issuer(profile.home / "keys"))
        from functions import load_catalog

        specs = BASELINES + [s for s in load_catalog() if not ONLY or s.name in ONLY]
        warm = {name for name, i in platform.runtime.instances.items() if i.policy.min_scale}
        times: dict[str, list[float]] = {}
        refused: dict[str, set[int]] = {}
        for _ in range(ROUNDS):
            for spec in specs:
                if spec.name in warm:
                    continue
                seconds, status = first_request(platform, spec, w, routes, events, tokens)
                if 200 <= status < 300:
                    times.setdefault(spec.name, []).append(seconds)
                else:
                    refused.setdefault(spec.name, set()).add(status)
        hello, libs = median(times.pop("hello-world")), median(times.pop("hello-libs"))
        print(f"first real request from zero, median of {ROUNDS} (HTTP through the front door, "
              "events on their own port)")
        print(f"{'hello-world':28s} {hello:6.3f} s")
        print(f"{'hello-libs':28s} {libs:6.3f} s  ({libs / hello:.2f}x hello-world)")
        worst_bare = worst_libs = 0.0
        for name, values in sorted(times.items(), key=lambda kv: -median(kv[1])):
            bare, over = median(values) / hello, median(values) / libs
            worst_bare, worst_libs = max(worst_bare, bare), max(worst_libs, over)
            print(f"{name:28s} {median(values):6.3f} s  {bare:5.2f}x hello-world  "
                  f"{over:5.2f}x hello-libs")
        for name, statuses in sorted(refused.items()):
            print(f"{name:28s} answered {sorted(statuses)} in some round: not counted")
        skipped = sorted(warm)
        if skipped:
            print(f"always warm (min-scale 1), not measured: {', '.join(skipped)}")
        print(f"worst: {worst_bare:.2f}x hello-world (target 2.5 or less), "
              f"{worst_libs:.2f}x hello-libs (target 1.3 or less)")
    finally:
        platform.stop()
        platform.stop_servers()


if __name__ == "__main__":
    sys.exit(main())
