"""The transcoder's files: the measured peak bitrate, the leftovers sweep, and the script
run by path as nginx runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rtmp_ingest.transcode import segment_kbps, sweep


def test_the_measured_bitrate_is_the_peak_segment(tmp_path):
    (tmp_path / "a.ts").write_bytes(b"x" * 125_000)   # 1 Mb in 1 s
    (tmp_path / "b.ts").write_bytes(b"x" * 250_000)   # 2 Mb in 0.5 s
    (tmp_path / "source.m3u8").write_text("#EXTM3U\n#EXTINF:1.000,\na.ts\n#EXTINF:0.500,\nb.ts\n")
    assert segment_kbps(tmp_path / "source.m3u8") == 4000
    assert segment_kbps(tmp_path / "missing.m3u8") is None


def test_the_sweep_removes_a_killed_transcoders_files_and_keeps_a_working_ones(tmp_path):
    hls = tmp_path / "hls"
    dead, alive = hls / "dead-stream" / "p1", hls / "live-stream" / "p2"
    for folder in (dead, alive):
        folder.mkdir(parents=True)
        (folder / "source.m3u8").write_text("#EXTM3U\n")
    for stream, publish in (("dead-stream", "p1"), ("live-stream", "p2")):
        (hls / f"{stream}.m3u8").write_text(
            f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n{stream}/{publish}/source.m3u8\n")
    old = time.time() - 600
    os.utime(dead / "source.m3u8", (old, old))
    assert sweep(tmp_path) == 2
    assert sorted(p.name for p in hls.iterdir()) == ["live-stream", "live-stream.m3u8"]


def test_run_by_path_with_a_bare_python_it_refuses_a_name_that_is_not_a_stream_id(tmp_path):
    """nginx's exec_push starts it by path with no PYTHONPATH: it must import its ladder and
    refuse an RTMP name that is not a public id before it touches the media directory."""
    script = Path(__file__).resolve().parents[3] / "rtmp_ingest" / "transcode.py"
    log = tmp_path / "transcode.log"
    ran = subprocess.run([sys.executable, "-I", str(script), "../etc", str(tmp_path), "rtmp://127.0.0.1:1/show",
                          "--ladder=480p=1200k", str(log)], capture_output=True, text=True, timeout=30,
                         env={"PATH": os.environ["PATH"]})
    assert ran.returncode == 2, ran.stderr
    [line] = [json.loads(text) for text in log.read_text().splitlines()]
    assert line["service"] == "transcode" and line["level"] == "error"
    assert "refusing a stream name" in line["message"]
    assert list(tmp_path.iterdir()) == [log]
