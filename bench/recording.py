"""Recording to replay: the remux of a 10-minute recording by the on-recording-completed
function (CloudEvent in, replay committed, thumbnail, raw file removed), against ffmpeg's
own stream copy of the same file into the same HLS layout, run directly. Prints both
(median of RUNS) and the ratio.

The recording is what nginx-rtmp writes: FLV, H.264 (640x360, 30 fps, 2.5 Mbit/s, a keyframe
every 2 s) and AAC, encoded once at the start. The function runs in this process through
functions-framework's app, on the `bench` profile's PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness import BENCH_PROFILE  # (harness puts the repository on sys.path)

MINUTES = float(os.environ.get("BENCH_RECORDING_MINUTES", 10))
RUNS = int(os.environ.get("BENCH_RUNS", 3))


def make_recording(path: Path) -> None:
    seconds = int(MINUTES * 60)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2500k", "-g", "60",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-f", "flv", str(path)],
        check=True,
    )


def direct_copy(source: Path, out: Path) -> float:
    """ffmpeg alone: the same stream copy into the same HLS layout."""
    from shared_lib.recordings.services import PLAYLIST, SEGMENT_SECONDS

    out.mkdir(parents=True)
    began = time.perf_counter()
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-c", "copy",
         "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
         "-hls_flags", "independent_segments",
         "-hls_segment_filename", str(out / "segment-%05d.ts"), str(out / PLAYLIST)],
        check=True,
    )
    return time.perf_counter() - began


def through_function(call, media: Path, source: Path, stream_id: str) -> float:
    name = f"{stream_id}-{int(time.time())}.flv"
    shutil.copy(source, media / "recordings" / name)
    from shared_lib.events.sending import encode

    headers = encode({"source": "/rtmp-ingest/bench", "type": "dev.streamfn.recording.completed",
                      "subject": stream_id})
    began = time.perf_counter()
    response = call("on-recording-completed", "POST", "/", headers=headers,
                    data=json.dumps({"stream_id": stream_id, "path": f"/x/recordings/{name}"}))
    elapsed = time.perf_counter() - began
    assert response.status_code == 202, response.get_data()
    return elapsed


def main() -> None:
    from local.platform import Platform, reset_caches
    from local.settings import Ports
    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork
    from shared_lib.streams import services as streams
    from tests.functions_client import FunctionClient

    work = Path(tempfile.mkdtemp(prefix="streamfn-bench-recording-"))
    media = work / "media"
    for folder in ("recordings", "replays"):
        (media / folder).mkdir(parents=True)
    platform = Platform(BENCH_PROFILE, Ports(),
                        environment="development")
    try:
        platform.start_servers()
        os.environ["STREAMFN_MEDIA_DIR"] = str(media)
        os.environ.pop("K_SINK", None)
        reset_caches()
        source = work / "recording.flv"
        print(f"encoding a {MINUTES:g}-minute recording…", flush=True)
        make_recording(source)
        size = source.stat().st_size
        with UnitOfWork() as uow:
            owner = uow.users.add(User(id=uuid.uuid4(), username=f"br{uuid.uuid4().hex[:8]}",
                                       email=f"{uuid.uuid4().hex}@example.com", password_hash="x",
                                       display_name="bench"))
            ids = [str(streams.create(uow, owner.id, title="bench").id) for _ in range(RUNS)]
            uow.commit()
        call = FunctionClient()
        call("on-recording-completed", "GET", "/healthz")  # import the function before timing
        direct, function = [], []
        for run, stream_id in enumerate(ids):
            direct.append(direct_copy(source, work / f"direct-{run}"))
            function.append(through_function(call, media, source, stream_id))
            shutil.rmtree(work / f"direct-{run}")
        with UnitOfWork() as uow:
            duration = uow.recordings.get(uuid.UUID(ids[0])).duration_seconds
    finally:
        platform.stop_servers()
        shutil.rmtree(work, ignore_errors=True)
    d, f = statistics.median(direct), statistics.median(function)
    print(f"recording: {duration:.0f} s of video, {size / 1e6:.0f} MB; median of {RUNS} runs")
    print(f"ffmpeg stream copy, direct       {d:6.2f} s   {[round(x, 2) for x in direct]}")
    print(f"on-recording-completed           {f:6.2f} s   {[round(x, 2) for x in function]}")
    print(f"function / direct ratio          {f / d:6.2f}")


if __name__ == "__main__":
    sys.exit(main())
