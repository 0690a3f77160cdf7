"""Cutting a clip: the segments already on disk that hold its span, joined by stream copy
(ffmpeg's concat demuxer, no re-encoding) into an MP4, with a thumbnail from its middle.

A live stream's segments are nginx's own HLS of the source (media/segments/), named by the
wall-clock millisecond each began and kept a minute and more; a replay's are its VOD's
(media/replays/<id>/). The cut starts at the keyframe at or before the span's start (stream
copy can start nowhere else) and stops at its end, so a clip is as long as asked, give or
take a keyframe interval. Files go in place by rename: a viewer never gets half an MP4.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shared_lib.errors import ProcessingFailed
from shared_lib.recordings.ffmpeg import run, segments
from shared_lib.recordings.services import PLAYLIST, media_dir, replay_dir
from shared_lib.statuses import ClipStatus

if TYPE_CHECKING:
    from shared_lib.clips.models import Clip
    from shared_lib.db import UnitOfWork

log = logging.getLogger(__name__)

CLIPS, LIVE_SEGMENTS = "clips", "segments"
# A live clip's span ends when it was asked for; the segment holding that moment is written
# within a second or so of it.
WAIT_FOR_END_SECONDS = 4.0
LIVE_NAME = re.compile(r"-(?P<ms>\d{10,16})\.ts$")
CUT_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Piece:
    """A segment file and where in it (seconds from its own start) the clip begins or ends."""

    path: Path
    start: float  # on the span's clock
    duration: float


def span(pieces: list[Piece], begin: float, end: float) -> list[Piece]:
    """The pieces that hold any of [begin, end)."""
    return [p for p in pieces if p.start < end and p.start + p.duration > begin + 0.001]


def live_pieces(media: Path, stream_id: uuid.UUID) -> list[Piece]:
    """nginx's segments of a live stream, on the wall clock (Unix seconds)."""
    folder = media / LIVE_SEGMENTS
    try:
        playlist = (folder / f"{stream_id}.m3u8").read_text()
    except OSError:
        return []
    found = []
    for segment in segments(playlist):
        match = LIVE_NAME.search(segment.uri)
        if match is not None and Path(segment.uri).name == segment.uri:
            found.append(Piece(folder / segment.uri, int(match["ms"]) / 1000, segment.duration))
    return found


def replay_pieces(media: Path, stream_id: uuid.UUID) -> list[Piece]:
    """A replay's segments, on its own clock (seconds from its start)."""
    folder = replay_dir(media, stream_id)
    try:
        playlist = (folder / PLAYLIST).read_text()
    except OSError:
        return []
    return [Piece(folder / s.uri, s.start, s.duration) for s in segments(playlist)
            if Path(s.uri).name == s.uri]


def _start_time(path: Path) -> float:
    """The first timestamp in a segment (MPEG-TS keeps the stream's clock, not zero)."""
    result = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=start_time",
                             "-of", "json", str(path)], capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
    try:
        return float(json.loads(result.stdout)["format"]["start_time"])
    except (ValueError, KeyError, TypeError):
        raise ProcessingFailed(f"The segment {path.name} could not be read.") from None


def concat_list(pieces: list[Piece], begin: float, end: float) -> str:
    """ffconcat for the span: in at `begin` in the first piece, out at `end` in the last."""
    lines = ["ffconcat version 1.0"]
    for i, piece in enumerate(pieces):
        quoted = str(piece.path).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
        offset = _start_time(piece.path) if i in (0, len(pieces) - 1) else 0.0
        if i == 0 and begin > piece.start:
            lines.append(f"inpoint {offset + begin - piece.start:.3f}")
        if i == len(pieces) - 1 and end < piece.start + piece.duration:
            lines.append(f"outpoint {offset + end - piece.start:.3f}")
    return "\n".join(lines) + "\n"


def clip_files(media: Path, clip_id: uuid.UUID) -> tuple[Path, Path]:
    return media / CLIPS / f"{clip_id}.mp4", media / CLIPS / f"{clip_id}.jpg"


def remove_files(clip_id: uuid.UUID) -> None:
    for path in clip_files(media_dir(), clip_id):
        path.unlink(missing_ok=True)


def _pieces_for(media: Path, clip: Clip) -> tuple[list[Piece], float, float]:
    if clip.ends_at is not None:
        begin, end = max(clip.ends_at - clip.seconds, 0.0), clip.ends_at
        return span(replay_pieces(media, clip.stream_id), begin, end), begin, end
    end = clip.created_at.timestamp()
    begin, deadline = end - clip.seconds, time.monotonic() + WAIT_FOR_END_SECONDS
    while True:
        pieces = live_pieces(media, clip.stream_id)
        written_to = max((p.start + p.duration for p in pieces), default=0.0)
        if written_to >= end or time.monotonic() > deadline:
            return span(pieces, begin, min(end, written_to)), begin, min(end, written_to)
        time.sleep(0.2)


def cut(media: Path, clip: Clip) -> float:
    """Write the clip's MP4 and thumbnail; its duration. ProcessingFailed with the reason."""
    pieces, begin, end = _pieces_for(media, clip)
    if not pieces or not all(p.path.exists() for p in pieces):
        raise ProcessingFailed("The stream's video for that span is no longer on the server.")
    mp4, jpg = clip_files(media, clip.id)
    mp4.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=mp4.parent, prefix=".cut-") as work:
        listing, out, thumb = Path(work) / "list.ffconcat", Path(work) / "clip.mp4", Path(work) / "t.jpg"
        listing.write_text(concat_list(pieces, begin, end))
        failure = run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                       "-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v:0", "-map", "0:a?",
                       "-c", "copy", "-avoid_negative_ts", "make_zero", "-movflags", "+faststart",
                       "-f", "mp4", str(out)], timeout=CUT_TIMEOUT_SECONDS)
        duration = _duration(out) if failure is None else 0.0
        if failure is not None or duration <= 0:
            raise ProcessingFailed(f"The clip could not be cut: {failure or 'it came out empty'}")
        run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-ss", f"{duration / 2:.3f}",
             "-i", str(out), "-frames:v", "1", "-vf", "scale=320:-2", "-q:v", "5", str(thumb)],
            timeout=CUT_TIMEOUT_SECONDS)
        for path in (out, thumb):
            if path.exists():
                path.chmod(0o644)
        if thumb.exists():
            thumb.replace(jpg)
        out.replace(mp4)
    return duration


def _duration(path: Path) -> float:
    result = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                             "-of", "json", str(path)], capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
    try:
        return float(json.loads(result.stdout)["format"]["duration"])
    except (ValueError, KeyError, TypeError):
        return 0.0


def make(uow: UnitOfWork, clip_id: uuid.UUID) -> None:
    """cut-clip's work: cut a processing clip and mark it ready, or failed with the reason
    (a span no longer on disk will not come back: no retry). A redelivery changes nothing."""
    clip = uow.clips.get(clip_id)
    if clip is None or clip.status != ClipStatus.PROCESSING:
        return
    try:
        duration = cut(media_dir(), clip)
    except ProcessingFailed as failure:
        log.warning("clip %s of %s failed: %s", clip.id, clip.stream_id, failure.message)
        clip.status, clip.error = ClipStatus.FAILED, failure.message[:2000]
        return
    clip.status, clip.duration_seconds = ClipStatus.READY, round(duration, 3)
    clip.ready_at = datetime.now(UTC)


def remove_orphans(uow: UnitOfWork, media: Path, *, older_than_seconds: float = 3600) -> int:
    """Clip files whose clip is gone (its channel or clipper deleted their account)."""
    files: dict[uuid.UUID, list[Path]] = {}
    for path in (media / CLIPS).glob("*.*"):
        try:
            if time.time() - path.stat().st_mtime > older_than_seconds:
                files.setdefault(uuid.UUID(path.stem), []).append(path)
        except (ValueError, OSError):
            continue
    kept = uow.clips.existing(list(files)) if files else set()
    removed = 0
    for clip_id, paths in files.items():
        if clip_id not in kept:
            for path in paths:
                path.unlink(missing_ok=True)
                removed += 1
    return removed
