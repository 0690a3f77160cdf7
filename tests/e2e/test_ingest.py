"""Publishing with a stream key through real nginx-rtmp, with ffmpeg as the encoder and
ffprobe as the player."""

from __future__ import annotations

import json
import time

import pytest

from tests import factories
from tests.e2e.conftest import http, register_user, sender
from tests.e2e.media import probe, publish, stop, wait_until


def rotate_key(api: str, token: str) -> dict:
    answer = http("POST", f"{api}/api/streams/key", token=token)
    assert answer.status == 200 and answer.headers.get("Cache-Control") == "no-store"
    return answer.json()


def live_stream_of(api: str, username: str) -> dict | None:
    page = http("GET", f"{api}/api/streams?live=true&limit=100").json()
    return next((s for s in page["items"] if s["user"]["username"] == username), None)


def refused(process, timeout: float = 15.0) -> bool:
    try:
        return process.wait(timeout) != 0
    except Exception:  # noqa: BLE001 - still running means it was accepted
        stop(process)
        return False


@pytest.fixture
def stream_events(recorded):
    """(type, id, source, data) of every stream event the broker delivers."""
    seen = recorded("dev.streamfn.stream.started", "dev.streamfn.stream.ended")

    class View:
        def __iter__(self):
            return iter([(h["ce-type"], h["ce-id"], h["ce-source"], d) for h, d in seen])

        def of(self, stream_id: str, count: int) -> list:
            """The events of that stream, once `count` of them arrived and no more came."""

            def mine():
                return [e for e in self if e[3]["stream_id"] == stream_id]

            wait_until(lambda: len(mine()) >= count, timeout=10)
            seen.settle(0)
            return mine()

    return View()


@pytest.fixture
def channel(platform):
    name, tokens = register_user(platform.api_url, "st")
    key = rotate_key(platform.api_url, tokens["access_token"])
    return name, tokens["access_token"], key


def test_a_publish_goes_live_plays_over_hls_and_dash_and_ends_with_its_duration(
        platform, channel, stream_events):
    api = platform.api_url
    name, token, key = channel
    assert key["rtmp_url"] == platform.ingest.rtmp_url
    began = time.monotonic()
    encoder = publish(f"{key['rtmp_url']}/{key['stream_key']}")
    try:
        live = wait_until(lambda: live_stream_of(api, name), timeout=15)
        assert live, "the stream shows up in list-streams"
        stream = http("GET", f"{api}/api/streams/{live['id']}").json()
        assert stream["status"] == "live" and stream["playback"]
        hls, dash = stream["playback"]["hls"], stream["playback"]["dash"]
        assert live["id"] in hls and live["id"] in dash
        assert wait_until(lambda: probe(hls) == ["aac", "h264"], timeout=20, interval=0.5)
        assert wait_until(lambda: probe(dash), timeout=20, interval=0.5)
        described = wait_until(lambda: (lambda s: s if s["video"]["codec"] and s["thumbnail_url"]
                                        else None)(http("GET", f"{api}/api/streams/{live['id']}").json()),
                               timeout=20, interval=0.5)
        assert described["video"]["width"] == 320 and described["video"]["height"] == 240
        assert described["video"]["codec"].lower() == "h264"
        assert described["audio"]["codec"].lower() == "aac"
        thumbnail = http("GET", described["thumbnail_url"])
        assert thumbnail.status == 200 and thumbnail.body[:2] == b"\xff\xd8"
        seen = [http("GET", f"{api}/api/streams?live=true").body,
                http("GET", f"{api}/api/streams/{live['id']}").body,
                http("GET", f"{api}/api/users/{name}/streams").body,
                http("GET", f"{api}/api/users/{name}").body, hls.encode(), dash.encode()]
        assert not any(key["stream_key"].encode() in body for body in seen)
    finally:
        stop(encoder)
    published_for = time.monotonic() - began
    ended = wait_until(lambda: (lambda s: s if s["status"] == "ended" else None)(
        http("GET", f"{api}/api/streams/{live['id']}").json()), timeout=15)
    assert ended, "the stream ends within seconds of the encoder stopping"
    assert 1 <= ended["duration_seconds"] <= published_for + 1
    assert ended["playback"] is None
    history = http("GET", f"{api}/api/users/{name}/streams").json()["items"]
    assert [s["id"] for s in history] == [live["id"]] and history[0]["duration_seconds"] > 0
    mine = stream_events.of(live["id"], 2)
    assert [e[0] for e in mine] == ["dev.streamfn.stream.started", "dev.streamfn.stream.ended"]
    logs = [p for p in (platform.ingest.home / "logs").iterdir() if p.is_file()]
    assert logs and not any(key["stream_key"].encode() in p.read_bytes() for p in logs), \
        "no log line of nginx or the sidecar carries the stream key"


def test_a_redelivered_start_or_end_has_no_second_effect(platform, channel, stream_events):
    api = platform.api_url
    name, _, key = channel
    encoder = publish(f"{key['rtmp_url']}/{key['stream_key']}", seconds=4)
    live = wait_until(lambda: live_stream_of(api, name), timeout=15)
    assert live
    encoder.wait(30)
    wait_until(lambda: http("GET", f"{api}/api/streams/{live['id']}").json()["status"] == "ended",
               timeout=15)
    delivered = stream_events.of(live["id"], 2)
    first = http("GET", f"{api}/api/streams/{live['id']}").json()
    for kind, event_id, source, data in delivered:
        headers, _ = factories.cloudevent(kind, source=source, subject=live["id"], id=event_id)
        headers.update(sender(platform.env["STREAMFN_SENDER_TOKEN_FILE"]))
        for _ in range(3):
            assert http("POST", f"{platform.internal_url}/", data=json.dumps(data).encode(),
                        headers=headers).status == 202
    assert platform.broker.drain(10)
    again = http("GET", f"{api}/api/streams/{live['id']}").json()
    assert again["status"] == "ended" and again["ended_at"] == first["ended_at"]
    from sqlalchemy import text

    from shared_lib.db import UnitOfWork

    ids = [e[1] for e in delivered]
    with UnitOfWork() as uow:
        counts = uow.session.execute(text(
            "SELECT consumer, count(*) FROM processed_events WHERE id = ANY(:ids) GROUP BY consumer"),
            {"ids": ids}).all()
    assert dict(counts) == {"on-stream-started": 1, "on-stream-ended": 1,
                            "finalize-stream-analytics": 1, "notify-followers": 1,
                            "webhooks-stream-started": 1, "webhooks-stream-ended": 1}


def test_wrong_rotated_and_smuggled_keys_are_refused_and_nothing_goes_live(platform, channel):
    api = platform.api_url
    name, token, first = channel
    second = rotate_key(api, token)
    url = second["rtmp_url"]
    assert refused(publish(f"{url}/live_not-a-real-key"))
    assert refused(publish(f"{url}/{first['stream_key']}")), "a rotated key no longer works"
    assert refused(publish(f"{url}/WRONG?name={second['stream_key']}"))
    assert live_stream_of(api, name) is None
    assert http("GET", f"{api}/api/users/{name}/streams").json()["items"] == []


def test_rotating_the_key_ends_the_live_publish_that_used_it(platform, channel):
    api = platform.api_url
    name, token, key = channel
    encoder = publish(f"{key['rtmp_url']}/{key['stream_key']}")
    try:
        live = wait_until(lambda: live_stream_of(api, name), timeout=15)
        assert live
        rotate_key(api, token)
        assert wait_until(lambda: encoder.poll() is not None, timeout=15), "nginx drops the encoder"
    finally:
        stop(encoder)
    assert wait_until(lambda: http("GET", f"{api}/api/streams/{live['id']}").json()["status"]
                      == "ended", timeout=15)


def test_a_publish_over_rtmps_goes_live_and_a_wrong_key_over_rtmps_is_refused(platform, channel):
    """RTMPS: TLS ends at the ingest tier's stream listener and the publish meets the same
    application, keys and checks as over plain RTMP."""
    api = platform.api_url
    name, _, key = channel
    assert key["rtmps_url"] == platform.ingest.rtmps_url
    assert refused(publish(f"{key['rtmps_url']}/live_not-a-real-key")), "a wrong key, over TLS"
    assert live_stream_of(api, name) is None
    encoder = publish(f"{key['rtmps_url']}/{key['stream_key']}")
    try:
        live = wait_until(lambda: live_stream_of(api, name), timeout=15)
        assert live, "a publish over RTMPS goes live"
        hls = http("GET", f"{api}/api/streams/{live['id']}").json()["playback"]["hls"]
        assert wait_until(lambda: probe(hls) == ["aac", "h264"], timeout=20), "and plays"
    finally:
        stop(encoder)


def test_with_the_functions_unreachable_a_publish_is_refused(platform, channel, tmp_path):
    from local.ingest import Ingest, IngestPorts
    from tests.e2e.conftest import free_port

    name, _, key = channel
    isolated = Ingest(tmp_path, tmp_path / "media",
                      IngestPorts(rtmp=free_port(), rtmps=free_port(), media=free_port(),
                                  stat=free_port(), sidecar=free_port()),
                      functions_url=f"http://127.0.0.1:{free_port()}", env=dict(platform.env))
    servers = isolated.servers()
    try:
        for server in servers:
            server.run()
        assert refused(publish(f"{isolated.rtmp_url}/{key['stream_key']}"))
    finally:
        for server in servers:
            server.stop()
    assert live_stream_of(platform.api_url, name) is None
    assert http("GET", f"{platform.api_url}/api/users/{name}/streams").json()["items"] == []


def test_a_keyless_publish_into_show_is_refused_and_the_stat_page_needs_its_token(
        platform, stream_events):
    import uuid

    stream_id = str(uuid.uuid4())
    assert refused(publish(f"rtmp://127.0.0.1:{platform.ports.rtmp}/show/{stream_id}"))
    assert not [e for e in stream_events if e[3].get("stream_id") == stream_id]
    # It lists the stream keys being published: only the sidecar, with its token, reads it.
    assert http("GET", f"http://127.0.0.1:{platform.ports.stat}/stat").status == 403
