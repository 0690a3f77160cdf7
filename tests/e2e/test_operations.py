"""Operations (DESIGN.md §12) on the running platform: JSON log lines, one trace id from a
request (or a go-live) through every event it causes, and no secret in any log."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

from local import trace as traces
from tests.e2e.conftest import http, register_user
from tests.e2e.media import publish, stop, wait_until
from tests.e2e.test_ingest import live_stream_of, rotate_key

ROOT = Path(__file__).resolve().parents[2]


def log_lines(platform, name: str) -> list[dict]:
    """The JSON lines of one function's log (a line that is not JSON fails the test)."""
    path = platform.logs / f"{name}.log"
    lines = [text for text in path.read_text(errors="replace").splitlines() if text.strip()]
    return [json.loads(text) for text in lines]


def of_trace(platform, trace_id: str) -> list[dict]:
    return traces.lines_of(platform.profile.home, trace_id)


def test_a_follow_with_a_traceparent_is_traced_to_the_event_consumers(platform, recorded):
    received = recorded("dev.streamfn.user.followed")
    api = platform.api_url
    channel, _ = register_user(api, "tr")
    _, tokens = register_user(api)
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    answer = http("PUT", f"{api}/api/users/{channel}/follow", token=tokens["access_token"],
                  headers={"traceparent": f"00-{trace_id}-{parent}-01"})
    assert answer.status == 200
    headers, _ = received.settle(1)[0]
    assert headers["ce-traceparent"].split("-")[1] == trace_id, "the event carries the trace"

    def consumers() -> set[str]:
        return {line["service"] for line in of_trace(platform, trace_id)}

    seen = wait_until(lambda: (lambda s: s if {"front-door", "follow", "webhooks-user-followed"}
                               <= s else None)(consumers()), timeout=15, interval=0.5)
    assert seen, f"the trace reached only {consumers()}"
    [request] = [line for line in log_lines(platform, "follow") if line.get("trace_id") == trace_id]
    assert request["method"] == "PUT" and request["route"] == "/api/users/{username}/follow"
    assert request["status"] == 200 and request["duration_ms"] >= 0 and request["level"] == "info"
    assert request["span_id"] != parent, "the function's own span, a child of the caller's"
    shown = subprocess.run([sys.executable, "-m", "local", "trace", trace_id], cwd=ROOT,
                           env={"PYTHONPATH": str(ROOT), "STREAMFN_PROFILE": platform.profile.name,
                                "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "PUT /api/users/{username}/follow 200" in shown.stdout
    assert "webhooks-user-followed" in shown.stdout


def test_a_request_without_a_traceparent_gets_one_from_the_front_door(platform):
    api = platform.api_url
    _, tokens = register_user(api)
    before = len(log_lines(platform, "me"))
    assert http("GET", f"{api}/api/auth/me", token=tokens["access_token"]).status == 200
    line = wait_until(lambda: (log_lines(platform, "me")[before:] or [None])[-1], timeout=10)
    assert len(line["trace_id"]) == 32
    assert wait_until(lambda: any(seen["service"] == "front-door" and seen["route"] == "/api/auth/me"
                                  for seen in of_trace(platform, line["trace_id"])),
                      timeout=10, interval=0.5), "the front door logged the same trace"


def test_a_go_live_is_traced_from_the_ingest_callback_to_notify_followers(platform):
    api = platform.api_url
    name, tokens = register_user(api, "gl")
    _, fan = register_user(api, "gf")
    assert http("PUT", f"{api}/api/users/{name}/follow", token=fan["access_token"]).status == 200
    key = rotate_key(api, tokens["access_token"])
    encoder = publish(f"{key['rtmp_url']}/{key['stream_key']}", seconds=6)
    try:
        live = wait_until(lambda: live_stream_of(api, name), timeout=15)
        assert live, "the stream went live"

        def go_live_trace() -> str | None:  # the ingest tier logs "started <id>" in its trace
            for path in platform.profile.home.rglob("sidecar.log"):
                for text in path.read_text(errors="replace").splitlines():
                    if f"started {live['id']}" in text:
                        return json.loads(text).get("trace_id")
            return None

        trace_id = wait_until(go_live_trace, timeout=10, interval=0.5)
        assert trace_id, "the ingest tier logged the go-live with a trace id"

        def reached() -> set[str]:
            return {line["service"] for line in of_trace(platform, trace_id)}

        assert wait_until(lambda: {"on-stream-started", "notify-followers"} <= reached(),
                          timeout=15, interval=0.5), f"the go-live's trace reached {reached()}"
    finally:
        stop(encoder)


def test_no_secret_reaches_any_log(platform):
    """A publish, a login, a refresh and a webhook: neither the stream key, the password, the
    tokens nor the webhook secret appear in any log line of any process."""
    api = platform.api_url
    name, tokens = register_user(api, "sc")
    password = "correct horse"  # register_user's
    login = http("POST", f"{api}/api/auth/login", json_body={"username": name, "password": password})
    assert login.status == 200
    refreshed = http("POST", f"{api}/api/auth/refresh",
                     json_body={"refresh_token": login.json()["refresh_token"]})
    assert refreshed.status == 200
    webhook = http("POST", f"{api}/api/webhooks", token=tokens["access_token"],
                   json_body={"url": "https://1.1.1.1/hook", "events": ["user.followed"]})
    assert webhook.status == 201
    key = rotate_key(api, tokens["access_token"])
    encoder = publish(f"{key['rtmp_url']}/{key['stream_key']}", seconds=4)
    try:
        assert wait_until(lambda: live_stream_of(api, name), timeout=15)
    finally:
        stop(encoder)
    time.sleep(2)  # the front door flushes its access log every second
    secrets_ = {
        "stream key": key["stream_key"], "password": password,
        "access token": tokens["access_token"], "refresh token": tokens["refresh_token"],
        "login's access token": login.json()["access_token"],
        "login's refresh token": login.json()["refresh_token"],
        "refreshed access token": refreshed.json()["access_token"],
        "refreshed refresh token": refreshed.json()["refresh_token"],
        "webhook secret": webhook.json()["secret"],
    }
    leaks = [(what, path.relative_to(platform.profile.home))
             for path in platform.profile.home.rglob("*.log") if path.is_file()
             for what, value in secrets_.items()
             if value.encode() in path.read_bytes()]
    assert not leaks


def metrics(platform) -> dict[str, float]:
    """The internal /metrics page as {sample with labels: value}."""
    page = http("GET", f"{platform.internal_url}/metrics")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for line in page.body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def grew(platform, before: dict[str, float], sample: str, by: float = 1) -> bool:
    return metrics(platform).get(sample, 0) >= before.get(sample, 0) + by


def test_the_metrics_page_counts_requests_cold_starts_retries_and_dead_letters(platform):
    from local.triggers import Trigger
    from tests.factories import cloudevent

    cold = next(name for name, status in platform.runtime.status().items()
                if not status["running"] and name in ("search-users", "list-following",
                                                      "channel-clips", "chat-moderators"))
    paths = {"search-users": "/api/users?q=ab", "list-following": "/api/users/nobody_here/following",
             "channel-clips": "/api/users/nobody_here/clips",
             "chat-moderators": "/api/chat/nobody_here/moderators"}
    before = metrics(platform)
    assert http("GET", f"{platform.api_url}{paths[cold]}").status in (200, 404)
    assert wait_until(lambda: grew(platform, before, f'streamfn_cold_starts_total{{function="{cold}"}}'),
                      timeout=10, interval=0.5), "a cold start"
    assert wait_until(lambda: any(key.startswith(f'streamfn_requests_total{{function="{cold}"')
                                  and value >= 1 for key, value in metrics(platform).items()),
                      timeout=10, interval=0.5), "the request, by function, route and status"
    assert f'streamfn_request_duration_seconds_count{{function="{cold}",route=' in \
        " ".join(metrics(platform))

    failing = Trigger("test-always-failing", "dev.streamfn.test.metrics",
                      lambda headers, body: (500, {}, b""))
    platform.broker.triggers.append(failing)
    try:
        before = metrics(platform)
        headers, body = cloudevent("dev.streamfn.test.metrics", {"n": 1})
        platform.broker.publish(headers, body)
        assert platform.broker.drain(20)
        label = '{trigger="test-always-failing"}'
        assert wait_until(lambda: grew(platform, before, f"streamfn_events_dead_lettered_total{label}")
                          and grew(platform, before, f"streamfn_events_retried_total{label}", 3)
                          and grew(platform, before, f"streamfn_events_accepted_total{label}"),
                          timeout=10, interval=0.5), "a retried and dead-lettered event"
    finally:
        platform.broker.triggers.remove(failing)
    assert "streamfn_live_streams" in " ".join(metrics(platform))
    public = http("GET", f"{platform.api_url}/metrics")  # the web app's page, if anything
    assert b"streamfn_" not in public.body, "never on the public port"
