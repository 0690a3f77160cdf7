"""Recordings become replays: the recording-completed event function, delete-replay and
expire-replays, with a real ffmpeg recording on disk and the real PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests import factories
from tests.integration.conftest import SECONDS
from tests.integration.test_streams import event, go_live, new_user, stream


def recorded(media: Path, raw: Path, stream_id: str) -> str:
    """Put a recording where nginx would; the path as its callback reports it."""
    name = f"{stream_id}-{int(time.time())}.flv"
    shutil.copy(raw, media / "recordings" / name)
    return f"/var/lib/streamfn/media/recordings/{name}"


def completed(call, stream_id: str, path: str, event_id: str | None = None):
    headers, body = factories.cloudevent(
        "dev.streamfn.recording.completed", {"stream_id": stream_id, "path": path},
        source="/rtmp-ingest/t", subject=stream_id, id=event_id)
    return call("on-recording-completed", "POST", "/", data=body, headers=headers)


def ended_broadcast(call):
    name, token = new_user(call, "rec")
    stream_id = go_live(call, token)
    assert event(call, "on-stream-ended", "ended", stream_id).status_code == 202
    return name, token, stream_id


def ffprobe(path: Path) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration",
         "-of", "json", str(path)], capture_output=True, text=True, timeout=30, check=True)
    return json.loads(result.stdout)


def test_a_recording_becomes_a_seekable_hls_replay_on_the_stream(call, media, raw_recording):
    name, _, stream_id = ended_broadcast(call)
    path = recorded(media, raw_recording, stream_id)
    assert completed(call, stream_id, path).status_code == 202

    replay = stream(call, stream_id)["replay"]
    assert replay["hls"].endswith(f"/replays/{stream_id}/index.m3u8")
    assert abs(replay["duration_seconds"] - SECONDS) < 1
    assert replay["thumbnail_url"].endswith(f"/replays/{stream_id}/thumbnail.jpg")
    folder = media / "replays" / stream_id
    playlist = (folder / "index.m3u8").read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.rstrip().endswith("#EXT-X-ENDLIST")
    probed = ffprobe(folder / "index.m3u8")
    assert sorted(s["codec_name"] for s in probed["streams"]) == ["aac", "h264"]
    assert abs(float(probed["format"]["duration"]) - SECONDS) < 1
    assert (folder / "thumbnail.jpg").read_bytes()[:2] == b"\xff\xd8"
    # The raw recording is gone once the replay is committed; nothing half-written is left.
    assert list((media / "recordings").iterdir()) == []
    assert [p.name for p in (media / "replays").iterdir()] == [stream_id]
    listed = call("channel-streams", path=f"/api/users/{name}/streams").get_json()["items"]
    assert listed[0]["replay"] == replay


def test_a_redelivered_event_makes_no_second_replay(call, media, raw_recording):
    _, _, stream_id = ended_broadcast(call)
    path, event_id = recorded(media, raw_recording, stream_id), str(uuid.uuid4())
    assert completed(call, stream_id, path, event_id).status_code == 202
    made = (media / "replays" / stream_id / "index.m3u8").stat().st_mtime_ns
    assert completed(call, stream_id, path, event_id).status_code == 202
    assert (media / "replays" / stream_id / "index.m3u8").stat().st_mtime_ns == made
    # A second event for the same recording (another id) changes nothing either.
    assert completed(call, stream_id, path).status_code == 202
    assert (media / "replays" / stream_id / "index.m3u8").stat().st_mtime_ns == made


def test_a_failed_remux_leaves_no_replay_and_says_why_then_a_retry_succeeds(
        call, media, raw_recording):
    from shared_lib.db import UnitOfWork

    _, _, stream_id = ended_broadcast(call)
    path = recorded(media, raw_recording, stream_id)
    raw = media / "recordings" / Path(path).name
    good = raw.read_bytes()
    raw.write_bytes(b"FLV this is not a recording")
    event_id = str(uuid.uuid4())
    response = completed(call, stream_id, path, event_id)
    assert response.status_code == 500  # the broker retries, then dead-letters it
    assert "could not be remuxed" in response.get_json()["error"]["message"]
    assert stream(call, stream_id)["replay"] is None
    assert not (media / "replays" / stream_id).exists()
    assert [p for p in (media / "replays").iterdir()] == []  # no partial directory left
    with UnitOfWork() as uow:
        recording = uow.recordings.get(uuid.UUID(stream_id))
        assert recording.status == "failed" and recording.error
    assert raw.exists(), "the raw recording is kept for a retry"

    raw.write_bytes(good)  # the operator fixed the cause; the broker (or a replay) retries
    assert completed(call, stream_id, path, event_id).status_code == 202
    assert stream(call, stream_id)["replay"] is not None


def test_with_recording_turned_off_there_is_no_replay(call, media, raw_recording):
    name, token = new_user(call, "norec")
    changed = call("update-profile", json={"recording_enabled": False}, token=token)
    assert changed.status_code == 200 and changed.get_json()["recording_enabled"] is False
    stream_id = go_live(call, token)
    path = recorded(media, raw_recording, stream_id)
    assert completed(call, stream_id, path).status_code == 202
    assert stream(call, stream_id)["replay"] is None
    assert list((media / "recordings").iterdir()) == [] and list((media / "replays").iterdir()) == []


def test_recording_enabled_refuses_null_and_non_booleans(call):
    _, token = new_user(call, "norec")
    for value in (None, "no", 0):
        response = call("update-profile", json={"recording_enabled": value}, token=token)
        assert response.status_code == 400, value
    assert call("me", token=token).get_json()["recording_enabled"] is True


def test_an_event_naming_another_file_touches_nothing(call, media, raw_recording):
    _, _, stream_id = ended_broadcast(call)
    _, _, other = ended_broadcast(call)
    others = recorded(media, raw_recording, other)
    for path in (others, "/etc/passwd", f"../../{Path(others).name}", ""):
        assert completed(call, stream_id, path).status_code == 202
    assert (media / "recordings" / Path(others).name).exists()
    assert stream(call, stream_id)["replay"] is None


def test_the_owner_deletes_a_replay_and_its_files_go(call, media, raw_recording):
    _, token, stream_id = ended_broadcast(call)
    _, stranger = new_user(call, "x")
    assert completed(call, stream_id, recorded(media, raw_recording, stream_id)).status_code == 202
    path = f"/api/streams/{stream_id}/replay"
    assert call("delete-replay", path=path, token=stranger).status_code == 403
    assert call("delete-replay", path=path).status_code == 401
    assert (media / "replays" / stream_id).exists()
    assert call("delete-replay", path=path, token=token).status_code == 204
    assert not (media / "replays" / stream_id).exists()
    assert stream(call, stream_id)["replay"] is None
    gone = call("delete-replay", path=path, token=token)
    assert gone.status_code == 404 and gone.get_json()["error"]["code"] == "not_found"
    assert call("delete-replay", path="/api/streams/nope/replay", token=token).status_code == 404


def test_expire_replays_deletes_those_past_the_retention(call, media, raw_recording):
    from shared_lib.db import UnitOfWork
    from shared_lib.recordings.models import Recording

    _, _, old = ended_broadcast(call)
    _, _, fresh = ended_broadcast(call)
    for stream_id in (old, fresh):
        assert completed(call, stream_id, recorded(media, raw_recording, stream_id)).status_code == 202
    with UnitOfWork() as uow:
        uow.session.get(Recording, uuid.UUID(old)).ready_at = (
            datetime.now(UTC) - timedelta(days=31))
        uow.commit()
    abandoned = media / "recordings" / f"{uuid.uuid4()}-1.flv"
    abandoned.write_bytes(b"x")
    month_ago = time.time() - 31 * 86400
    os.utime(abandoned, (month_ago, month_ago))
    ping = factories.ping("expire-replays")
    assert call("expire-replays", "POST", "/", headers=ping).status_code == 202
    assert stream(call, old)["replay"] is None and not (media / "replays" / old).exists()
    assert stream(call, fresh)["replay"] is not None and (media / "replays" / fresh).exists()
    assert not abandoned.exists()


def test_a_reconnects_second_recording_is_appended_to_the_replay(call, media, raw_recording):
    """An encoder that reconnected onto its live stream leaves two recordings of one
    broadcast: the replay plays both, in order, across a discontinuity."""
    _, _, stream_id = ended_broadcast(call)
    first = recorded(media, raw_recording, stream_id)
    assert completed(call, stream_id, first).status_code == 202
    second = first.replace(".flv", "9.flv")  # a later unix time, as nginx names it
    shutil.copy(raw_recording, media / "recordings" / Path(second).name)
    assert completed(call, stream_id, second).status_code == 202
    replay = stream(call, stream_id)["replay"]
    assert abs(replay["duration_seconds"] - 2 * SECONDS) < 2
    playlist = (media / "replays" / stream_id / "index.m3u8").read_text()
    assert playlist.count("#EXT-X-DISCONTINUITY") == 1 and playlist.rstrip().endswith("#EXT-X-ENDLIST")
    probed = ffprobe(media / "replays" / stream_id / "index.m3u8")
    assert abs(float(probed["format"]["duration"]) - 2 * SECONDS) < 2
    assert list((media / "recordings").iterdir()) == []
    assert completed(call, stream_id, second).status_code == 202  # announced again: no change
    assert abs(stream(call, stream_id)["replay"]["duration_seconds"] - replay["duration_seconds"]) < 0.01
