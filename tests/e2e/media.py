"""ffmpeg as the publisher and ffprobe as the player, for the ingest tests and benches."""

from __future__ import annotations

import json
import re
import subprocess
import time


def publish(url: str, *, seconds: float | None = None, size: str = "320x240") -> subprocess.Popen:
    """ffmpeg publishing a test pattern with a tone (H.264 + AAC, a keyframe a second)."""
    limit = ["-t", str(seconds)] if seconds else []
    return subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", *limit,
         "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "30",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", url],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def dimensions(url: str) -> tuple[int, int] | None:
    """The width and height of the video ffprobe plays at `url` (a media playlist)."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "json", url], capture_output=True, text=True, timeout=30)
    streams = json.loads(result.stdout or "{}").get("streams") if result.returncode == 0 else None
    return (streams[0]["width"], streams[0]["height"]) if streams else None


def probe(url: str) -> list[str]:
    """The codecs ffprobe finds at `url`, or [] when it cannot play it."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "json", url],
        capture_output=True, text=True, timeout=30,
    )
    if result.returncode != 0:
        return []
    return sorted({s["codec_name"] for s in json.loads(result.stdout).get("streams", [])})


def wait_until(check, *, timeout: float, interval: float = 0.1):
    """Poll `check` until it returns something truthy; that value, or None at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    return None


def last_segment(playlist: str) -> int:
    """The media sequence number of a media playlist's last segment."""
    first = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", playlist)[1])
    return first + playlist.count("#EXTINF:") - 1


def answers_blocking_reloads(playlist_url: str) -> None:
    """A player asking for the next segment (LL-HLS blocking reload) is held until it is
    written, then answered with it; one asking far ahead is refused."""
    from tests.e2e.conftest import http

    now = http("GET", playlist_url).body.decode()
    assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES" in now, now
    last = last_segment(now)
    held = http("GET", f"{playlist_url}?_HLS_msn={last + 1}")
    assert held.status == 200 and last_segment(held.body.decode()) == last + 1, held.body
    ahead = http("GET", f"{playlist_url}?_HLS_msn={last + 10}")
    assert ahead.status == 400 and ahead.json()["error"]["code"] == "invalid_request"
