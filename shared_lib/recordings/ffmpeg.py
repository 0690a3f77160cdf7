"""ffmpeg as the media functions run it, and reading the HLS playlists it and nginx write."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

FFMPEG_TIMEOUT_SECONDS = 600


def run(command: list[str], *, timeout: float = FFMPEG_TIMEOUT_SECONDS) -> str | None:
    """None when the command succeeded, else the last line it had to say."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{command[0]} did not run: {exc}"
    if result.returncode == 0:
        return None
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[-1][:500] if lines else f"{command[0]} exited with {result.returncode}"


@dataclass(frozen=True)
class Segment:
    uri: str
    start: float  # seconds from the playlist's first segment
    duration: float


def segments(playlist: str) -> list[Segment]:
    """A media playlist's segments, each with where it starts."""
    found, start, duration = [], 0.0, None
    for line in playlist.splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",")[0])
        elif line and not line.startswith("#") and duration is not None:
            found.append(Segment(line.strip(), start, duration))
            start, duration = start + duration, None
    return found


def playlist_seconds(playlist: str) -> float:
    """The duration of an HLS media playlist: the sum of its segments' #EXTINF."""
    return sum(segment.duration for segment in segments(playlist))
