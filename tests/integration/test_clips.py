"""Clips on the real PostgreSQL with real ffmpeg: create-clip, cut-clip (the event it
records, delivered by hand), get-clip, channel-clips and delete-clip, cutting a replay made
by on-recording-completed and a live stream's segments as nginx names them."""

from __future__ import annotations

import subprocess
import time
import uuid

from shared_lib.clips import cutting
from tests import factories
from tests.integration.test_recordings import completed, ended_broadcast, ffprobe, recorded
from tests.integration.test_streams import go_live, new_user


def cut(call, clip_id: str, event_id: str | None = None):
    headers, body = factories.cloudevent("dev.streamfn.clip.requested", {"clip_id": clip_id},
                                         source="/functions/create-clip", subject=clip_id, id=event_id)
    return call("cut-clip", "POST", "/", data=body, headers=headers)


def ask(call, stream_id: str, token: str, **body):
    return call("create-clip", path=f"/api/streams/{stream_id}/clips", json=body, token=token)


def get(call, clip_id: str) -> dict:
    return call("get-clip", path=f"/api/clips/{clip_id}").get_json()


def replay_of(call, media, raw_recording):
    name, token, stream_id = ended_broadcast(call)
    assert completed(call, stream_id, recorded(media, raw_recording, stream_id)).status_code == 202
    return name, token, stream_id


def test_a_replay_is_clipped_up_to_the_playhead_by_stream_copy(call, media, raw_recording):
    name, owner, stream_id = replay_of(call, media, raw_recording)
    _, fan = new_user(call, "fan")
    answer = ask(call, stream_id, fan, seconds=5, ends_at=5.5, title="the good bit")
    assert answer.status_code == 202
    clip = answer.get_json()
    assert clip["status"] == "processing" and clip["playback"] is None
    assert cut(call, clip["id"]).status_code == 202
    ready = get(call, clip["id"])
    assert ready["status"] == "ready" and abs(ready["duration_seconds"] - 5) <= 1.05
    mp4 = media / "clips" / f"{clip['id']}.mp4"
    assert ready["playback"]["mp4"].endswith(f"/clips/{clip['id']}.mp4")
    probed = ffprobe(mp4)
    assert sorted(s["codec_name"] for s in probed["streams"]) == ["aac", "h264"]
    assert (media / "clips" / f"{clip['id']}.jpg").read_bytes()[:2] == b"\xff\xd8"
    # Redelivered: no second cut.
    made = mp4.stat().st_mtime_ns
    assert cut(call, clip["id"]).status_code == 202 and mp4.stat().st_mtime_ns == made
    listed = call("channel-clips", path=f"/api/users/{name}/clips").get_json()
    assert [c["id"] for c in listed["items"]] == [clip["id"]] and listed["next_cursor"] is None
    # The replay goes; the clip stays, and still plays.
    assert call("delete-replay", "DELETE", f"/api/streams/{stream_id}/replay", token=owner).status_code == 204
    assert get(call, clip["id"])["status"] == "ready" and mp4.exists()
    # The channel's owner may delete a fan's clip.
    assert call("delete-clip", "DELETE", f"/api/clips/{clip['id']}", token=owner).status_code == 204
    assert not mp4.exists() and call("get-clip", path=f"/api/clips/{clip['id']}").status_code == 404


def test_a_replay_clip_must_end_inside_the_replay(call, media, raw_recording):
    _, owner, stream_id = replay_of(call, media, raw_recording)
    assert ask(call, stream_id, owner, ends_at=60.0).status_code == 400
    assert ask(call, stream_id, owner, ends_at=2.0).status_code == 400
    # Without ends_at: up to the replay's end.
    whole = ask(call, stream_id, owner, seconds=5)
    assert whole.status_code == 202
    assert cut(call, whole.get_json()["id"]).status_code == 202
    assert get(call, whole.get_json()["id"])["status"] == "ready"


def test_a_live_clip_is_cut_from_nginx_segments_and_fails_when_they_are_gone(call, media, monkeypatch):
    monkeypatch.setattr(cutting, "WAIT_FOR_END_SECONDS", 0.3)
    _, token = new_user(call, "liv")
    stream_id = go_live(call, token)
    gone = ask(call, stream_id, token, seconds=5).get_json()
    assert cut(call, gone["id"]).status_code == 202
    failed = get(call, gone["id"])
    assert failed["status"] == "failed" and failed["playback"] is None

    # nginx's segments of the last 8 seconds, named by the millisecond each began (made
    # first, then named from the clock, however long making them took).
    folder = media / "segments"
    folder.mkdir()
    made = []
    for i in range(8):
        made.append(folder / f"part-{i}.ts")
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                        "testsrc2=size=320x240:rate=30:duration=1", "-f", "lavfi", "-i",
                        "sine=duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
                        "-c:a", "aac", "-output_ts_offset", str(10 + i), "-f", "mpegts",
                        str(made[-1])], check=True, timeout=60)
    began, lines = time.time() - 8, ["#EXTM3U", "#EXT-X-TARGETDURATION:1"]
    for i, part in enumerate(made):
        name = f"{stream_id}-{int((began + i) * 1000)}.ts"
        part.rename(folder / name)
        lines += ["#EXTINF:1.000,", name]
    (folder / f"{stream_id}.m3u8").write_text("\n".join(lines) + "\n")
    clip = ask(call, stream_id, token, seconds=5).get_json()
    assert cut(call, clip["id"]).status_code == 202
    ready = get(call, clip["id"])
    assert ready["status"] == "ready" and abs(ready["duration_seconds"] - 5) <= 1.05, ready


def test_clips_are_refused_past_the_rate_limit_and_a_stranger_cannot_delete_one(call, media, raw_recording):
    _, owner, stream_id = replay_of(call, media, raw_recording)
    _, stranger = new_user(call, "str")
    made = [ask(call, stream_id, owner, seconds=5) for _ in range(10)]
    assert all(answer.status_code == 202 for answer in made)
    refused = ask(call, stream_id, owner, seconds=5)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    clip_id = made[0].get_json()["id"]
    assert call("delete-clip", "DELETE", f"/api/clips/{clip_id}", token=stranger).status_code == 403
    assert call("delete-clip", "DELETE", f"/api/clips/{uuid.uuid4()}", token=stranger).status_code == 404


def test_the_sweep_removes_files_of_clips_gone_with_their_account(call, media):
    from shared_lib.db import UnitOfWork

    (media / "clips").mkdir()
    orphan = media / "clips" / f"{uuid.uuid4()}.mp4"
    orphan.write_bytes(b"x")
    with UnitOfWork() as uow:
        assert cutting.remove_orphans(uow, media, older_than_seconds=-1) == 1
    assert not orphan.exists()
