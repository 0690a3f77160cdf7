"""Every broadcast becomes a replay: real nginx-rtmp records, ffmpeg publishes, ffprobe plays
the replay back over HTTP."""

from __future__ import annotations

import json
import subprocess
import time

from tests.e2e.conftest import http, register_user
from tests.e2e.media import publish, wait_until
from tests.e2e.test_ingest import rotate_key

PUBLISH_SECONDS = 20


def probe_vod(url: str) -> dict | None:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration",
         "-of", "json", url], capture_output=True, text=True, timeout=60)
    return json.loads(result.stdout) if result.returncode == 0 else None


def channel_stream(api: str, username: str) -> dict | None:
    items = http("GET", f"{api}/api/users/{username}/streams").json()["items"]
    return items[0] if items else None


def test_a_broadcast_becomes_a_replay_unless_recording_is_off(platform):
    api = platform.api_url
    recording, token = register_user(api, "rec")
    private, private_tokens = register_user(api, "norec")
    assert http("PATCH", f"{api}/api/users/me", json_body={"recording_enabled": False},
                token=private_tokens["access_token"]).status == 200
    keys = {name: rotate_key(api, t["access_token"])
            for name, t in ((recording, token), (private, private_tokens))}
    encoders = [publish(f"{key['rtmp_url']}/{key['stream_key']}", seconds=PUBLISH_SECONDS)
                for key in keys.values()]
    for encoder in encoders:
        assert encoder.wait(PUBLISH_SECONDS + 30) == 0, encoder.stderr.read()
    stopped = time.monotonic()

    replayed = wait_until(lambda: (lambda s: s if s and s["replay"] else None)(
        channel_stream(api, recording)), timeout=60, interval=0.5)
    assert replayed, "a replay within a minute of the end"
    print(f"replay ready {time.monotonic() - stopped:.1f} s after the publish ended")
    assert replayed["status"] == "ended"
    replay = replayed["replay"]
    assert replay["hls"].startswith(f"http://127.0.0.1:{platform.ports.hls}/replays/")
    assert replayed["id"] in replay["hls"]
    assert abs(replay["duration_seconds"] - PUBLISH_SECONDS) <= 2
    probed = probe_vod(replay["hls"])
    assert probed, "ffprobe plays the replay"
    assert sorted(s["codec_name"] for s in probed["streams"]) == ["aac", "h264"]
    assert abs(float(probed["format"]["duration"]) - PUBLISH_SECONDS) <= 2
    playlist = http("GET", replay["hls"])
    assert playlist.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert playlist.body.decode().rstrip().endswith("#EXT-X-ENDLIST")
    thumbnail = http("GET", replay["thumbnail_url"])
    assert thumbnail.status == 200 and thumbnail.body[:2] == b"\xff\xd8"
    for key in keys.values():  # the files are named by the public id, never by the key
        assert not any(key["stream_key"] in str(p) for p in platform.ingest.media_dir.rglob("*"))

    # Recording off: the raw file is discarded and no replay appears.
    unrecorded = channel_stream(api, private)
    raw = platform.ingest.media_dir / "recordings"
    assert wait_until(lambda: not list(raw.glob(f"{unrecorded['id']}*")), timeout=30)
    assert channel_stream(api, private)["replay"] is None
    assert not (platform.ingest.media_dir / "replays" / unrecorded["id"]).exists()

    # The owner deletes the replay: the stream no longer offers it and its files are gone.
    deleted = http("DELETE", f"{api}/api/streams/{replayed['id']}/replay",
                   token=token["access_token"])
    assert deleted.status == 204
    assert channel_stream(api, recording)["replay"] is None
    assert http("GET", replay["hls"]).status == 404
    assert not (platform.ingest.media_dir / "replays" / replayed["id"]).exists()
