"""Recordings become replays.

nginx-rtmp records the loopback `show` application, so a raw recording is named by the
public stream id (`recordings/<id>-<unix time>.flv`), never by the stream key. When nginx
closes it, the sidecar announces dev.streamfn.recording.completed, and `complete` turns it
into an HLS video on demand under `replays/<id>/` by stream copy (no re-encoding): a
playlist of 4-second segments ending in #EXT-X-ENDLIST, and a thumbnail.

Files are written into a hidden partial directory and renamed into place only once the
playlist is whole, so a viewer never sees a broken replay: a remux that fails leaves the
stream without one, its reason in the `recordings` row, and the raw file kept for a retry.
The paths an event names are never trusted: only the file name is read, it must be a
recording of that stream, and it is looked up in this function's own media directory.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared_lib.errors import ProcessingFailed
from shared_lib.recordings.ffmpeg import playlist_seconds
from shared_lib.recordings.ffmpeg import run as _run
from shared_lib.statuses import RecordingStatus

if TYPE_CHECKING:
    from shared_lib.db import UnitOfWork
    from shared_lib.recordings.models import Recording

log = logging.getLogger(__name__)

RECORDINGS, REPLAYS = "recordings", "replays"
PLAYLIST, THUMBNAIL = "index.m3u8", "thumbnail.jpg"
SEGMENT_SECONDS = 4
RAW_NAME = re.compile(r"^(?P<id>[0-9a-f-]{36})(-\d+)?\.flv$")


def media_dir() -> Path:
    from shared_lib.config import get_settings

    return Path(get_settings().media_dir)


def raw_file(media: Path, stream_id: uuid.UUID, reported: str) -> Path | None:
    """The raw recording an event names, in this media directory; None unless the name is
    one nginx writes for this stream."""
    match = RAW_NAME.match(Path(reported or "").name)
    if match is None or match["id"] != str(stream_id):
        return None
    return media / RECORDINGS / Path(reported).name


def replay_dir(media: Path, stream_id: uuid.UUID) -> Path:
    return media / REPLAYS / str(stream_id)


@dataclass
class Replay:
    duration_seconds: float
    size_bytes: int


SOURCE_MARK = "# source: "  # an HLS comment naming each raw recording a replay holds


def remux(source: Path, target: Path, *, append: bool = False) -> Replay:
    """`source` as an HLS VOD in `target` (replaced whole if it exists), or with `append`
    added after what `target` holds, behind a discontinuity: an encoder that reconnected
    onto its live stream left a second recording of the one broadcast. Raises
    ProcessingFailed with ffmpeg's reason."""
    partial = target.parent / f".{target.name}.{uuid.uuid4().hex}.partial"
    partial.mkdir(parents=True)
    try:
        earlier = (target / PLAYLIST).read_text() if append and (target / PLAYLIST).exists() else ""
        for path in target.iterdir() if earlier else ():
            os.link(path, partial / path.name)
        prefix = f"segment-{earlier.count(SOURCE_MARK)}-" if earlier else "segment-"
        failure = _run([
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
            "-c", "copy", "-f", "hls", "-hls_time", str(SEGMENT_SECONDS),
            "-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
            "-hls_segment_filename", str(partial / f"{prefix}%05d.ts"), str(partial / "part.m3u8"),
        ])
        part = (partial / "part.m3u8").read_text() if (partial / "part.m3u8").exists() else ""
        if failure is None and ("#EXT-X-ENDLIST" not in part or not playlist_seconds(part)):
            failure = "the remuxed playlist is empty"
        if failure is not None:
            raise ProcessingFailed(f"The recording could not be remuxed: {failure}")
        (partial / "part.m3u8").unlink()
        playlist = joined(earlier, part, source.name)
        (partial / PLAYLIST).write_text(playlist)
        if not earlier:
            # A thumbnail from the middle of the broadcast: the first frame of the middle
            # segment (a keyframe, no seeking). A replay without one still plays.
            segments = sorted(partial.glob("segment-*.ts"))
            _run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i",
                  str(segments[len(segments) // 2]), "-frames:v", "1", "-vf", "scale=320:-2",
                  "-q:v", "5", str(partial / THUMBNAIL)])
        size = sum(path.stat().st_size for path in partial.iterdir())
        partial.chmod(0o755)
        _swap_in(partial, target)
        return Replay(duration_seconds=round(playlist_seconds(playlist), 3), size_bytes=size)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def joined(earlier: str, part: str, name: str) -> str:
    """The playlist of `earlier` followed by `part` (a remux of the raw file `name`)."""
    lines = [line for line in part.splitlines() if line]
    first = next(i for i, line in enumerate(lines) if line.startswith("#EXTINF"))
    segments = [line for line in lines[first:] if line != "#EXT-X-ENDLIST"]
    if not earlier:
        return "\n".join([*lines[:first], SOURCE_MARK + name, *segments, "#EXT-X-ENDLIST"]) + "\n"
    kept = [line for line in earlier.splitlines() if line and line != "#EXT-X-ENDLIST"]
    longest = max(int(line.split(":", 1)[1]) for line in kept + lines
                  if line.startswith("#EXT-X-TARGETDURATION:"))
    kept = [f"#EXT-X-TARGETDURATION:{longest}" if line.startswith("#EXT-X-TARGETDURATION:") else line
            for line in kept]
    return "\n".join([*kept, "#EXT-X-DISCONTINUITY", SOURCE_MARK + name, *segments,
                      "#EXT-X-ENDLIST"]) + "\n"


def _swap_in(partial: Path, target: Path) -> None:
    """Put `partial` at `target`; an old copy (a retried event) goes only once the new one
    is in place."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.{uuid.uuid4().hex}.old"
        target.rename(old)
    partial.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_files(media: Path, stream_id: uuid.UUID) -> None:
    shutil.rmtree(replay_dir(media, stream_id), ignore_errors=True)


def _mark(uow: UnitOfWork, stream_id: uuid.UUID, status: str, **fields: Any) -> Recording:
    recording = uow.recordings.get(stream_id)
    if recording is None:
        recording = uow.recordings.create(stream_id=stream_id, status=status, **fields)
    else:
        recording.status = status
        for name, value in fields.items():
            setattr(recording, name, value)
    return recording


def _holds(target: Path, name: str) -> bool:
    try:
        return SOURCE_MARK + name in (target / PLAYLIST).read_text()
    except OSError:
        return False


def complete(uow: UnitOfWork, media: Path, stream_id: uuid.UUID, reported_path: str) -> Path | None:
    """Make the replay of a closed recording, as the event function's transaction. Returns
    the raw file to delete once that transaction commits (None: keep what is there)."""
    source = raw_file(media, stream_id, reported_path)
    if source is None:
        log.warning("recording event for %s names no recording of it", stream_id)
        return None
    stream = uow.streams.get(stream_id)
    existing = uow.recordings.get(stream_id)
    redoable = (RecordingStatus.FAILED, RecordingStatus.READY)
    if stream is None or (existing is not None and existing.status not in redoable):
        return source  # the stream is gone, or its recording was skipped or deleted
    # A replay that is there already gets this recording appended: a reconnect's second one.
    appending = existing is not None and existing.status == RecordingStatus.READY
    target = replay_dir(media, stream_id)
    if appending and (not source.exists() or _holds(target, source.name)):
        return None  # this recording is in the replay already
    owner = uow.users.get(stream.user_id)
    if owner is None or not owner.recording_enabled:
        _mark(uow, stream_id, RecordingStatus.SKIPPED)
        return source
    if not source.exists():
        raise ProcessingFailed(f"The recording file {source.name} is not in the media directory.")
    replay = remux(source, target, append=appending)
    from shared_lib.streams.services import changed

    changed(uow)  # the stream's replay shows at once
    _mark(uow, stream_id, RecordingStatus.READY, duration_seconds=replay.duration_seconds,
          size_bytes=replay.size_bytes, error=None, ready_at=datetime.now(UTC))
    log.info("replay of %s ready: %.1f s, %d bytes", stream_id, replay.duration_seconds,
             replay.size_bytes)
    return source


def make_replay(uow: UnitOfWork, stream_id: uuid.UUID, reported_path: str) -> None:
    """A closed recording becomes its stream's replay (or is discarded when the channel
    turned recording off); the raw file goes once the transaction commits. A failed remux
    keeps its reason and raises, so the event is retried."""
    try:
        raw = complete(uow, media_dir(), stream_id, reported_path)
    except ProcessingFailed as failure:
        record_failure(stream_id, failure.message)
        raise
    uow.after_commit(lambda: unlink_quietly(raw))


def record_failure(stream_id: uuid.UUID, error: str) -> None:
    """Keep a failed remux's reason where an operator (and a retry) can see it, in a
    transaction of its own: the event's own transaction is rolled back for the retry."""
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        if uow.streams.get(stream_id) is not None:
            _mark(uow, stream_id, RecordingStatus.FAILED, error=error[:2000])
            uow.commit()


def delete(uow: UnitOfWork, user_id: uuid.UUID, stream_id: uuid.UUID) -> None:
    """The owner deletes a replay; its files go once this commits."""
    from shared_lib import errors

    stream = uow.streams.get(stream_id)
    if stream is None:
        raise errors.NotFound("No such stream.")
    if stream.user_id != user_id:
        raise errors.NotPermitted("Only the channel owner can delete this replay.")
    recording = uow.recordings.get(stream_id)
    if recording is None or recording.status != RecordingStatus.READY:
        raise errors.NotFound("This stream has no replay.")
    recording.status, recording.removed_at = RecordingStatus.DELETED, datetime.now(UTC)
    from shared_lib.streams.services import changed

    changed(uow)
    uow.after_commit(lambda: remove_files(media_dir(), stream_id))


def expire(uow: UnitOfWork, *, days: int, limit: int = 500) -> list[uuid.UUID]:
    """Mark the replays older than `days` expired; the caller removes their files (and
    `remove_stale_raw` the raw recordings) once this commits."""
    now = datetime.now(UTC)
    expired = uow.recordings.ready_before(now - timedelta(days=days), limit=limit)
    for recording in expired:
        recording.status, recording.removed_at = RecordingStatus.EXPIRED, now
    return [recording.stream_id for recording in expired]


def expire_all(*, days: int) -> None:
    """Expire every replay older than `days`, a batch per transaction, each batch's files
    removed once it commits; then the raw recordings left as long."""
    from shared_lib.db import UnitOfWork

    media, expired = media_dir(), [uuid.uuid4()]
    while expired:
        with UnitOfWork() as uow:
            expired = expire(uow, days=days)
            uow.commit()
        for stream_id in expired:
            remove_files(media, stream_id)
    remove_stale_raw(media, days=days)


def remove_stale_raw(media: Path, *, days: int) -> int:
    """Delete raw recordings left `days` (remuxes that never succeeded)."""
    cutoff, removed = (datetime.now(UTC) - timedelta(days=days)).timestamp(), 0
    for raw in (media / RECORDINGS).glob("*.flv"):
        try:
            if raw.stat().st_mtime < cutoff:
                raw.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed


def unlink_quietly(path: Path | None) -> None:
    if path is not None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
