"""Clips: asking for one, reading them, deleting one. The cut itself is cut-clip's
(shared_lib/clips/cutting.py), on the event a request records."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from shared_lib import errors
from shared_lib.clips.shapes import MIN_SECONDS, ClipPage, ClipRequest, ClipView
from shared_lib.config import get_settings
from shared_lib.events.outbox import record
from shared_lib.events.types import EventType
from shared_lib.statuses import ClipStatus, RecordingStatus, StreamStatus

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.clips.repository import Row
    from shared_lib.db import UnitOfWork
    from shared_lib.http.paging import PageQuery

SOURCE = "/functions/create-clip"
# Each clip is an ffmpeg run and a file kept: a viewer asks for at most this many a window.
RATE_LIMIT, RATE_WINDOW = 10, timedelta(minutes=5)


def _replay_end(seconds: int, ends_at: float | None, duration: float) -> float:
    """Where a replay's clip ends: `ends_at` (the playhead), or the replay's end."""
    end = duration if ends_at is None else ends_at
    if end > duration + 0.5:
        raise errors.InvalidInput("ends_at is past the end of the replay.",
                                  details=[{"field": "ends_at", "duration_seconds": duration}])
    if min(end, duration) < MIN_SECONDS:
        raise errors.InvalidInput(f"A clip needs at least {MIN_SECONDS} seconds before its end.",
                                  details=[{"field": "ends_at"}])
    return min(end, duration)


def request(uow: UnitOfWork, clipper: User, stream_id: uuid.UUID, body: ClipRequest) -> Row:
    """A clip of the stream, `processing` until cut-clip has cut it: of the live stream up to
    now, or of its replay up to `ends_at`. 409 when there is neither."""
    row = uow.streams.get_full(stream_id)
    if row is None:
        raise errors.NotFound("No such stream.")
    stream, metadata, channel, recording = row
    ends_at = None
    if body.ends_at is not None or stream.status != StreamStatus.LIVE:
        if recording is None or recording.status != RecordingStatus.READY:
            raise errors.Conflict("This stream has nothing recorded to clip: it is not live "
                                  "and has no replay.")
        ends_at = _replay_end(body.seconds, body.ends_at, recording.duration_seconds or 0.0)
    now = datetime.now(UTC)
    count, oldest = uow.clips.made_by_since(clipper.id, now - RATE_WINDOW)
    if count >= RATE_LIMIT and oldest is not None:
        wait = math.ceil((oldest + RATE_WINDOW - now).total_seconds())
        raise errors.Throttled(f"You have made {count} clips in the last few minutes: wait {wait} s.",
                               retry_after=wait)
    from shared_lib.clips.models import Clip

    clip = uow.clips.add(Clip(id=uuid.uuid4(), stream_id=stream.id, channel_id=channel.id,
                              clipped_by=clipper.id, title=body.title or metadata.title,
                              seconds=body.seconds, ends_at=ends_at,
                              status=ClipStatus.PROCESSING))
    uow.session.flush()
    record(uow, type=EventType.CLIP_REQUESTED, source=SOURCE, subject=str(clip.id),
           data={"clip_id": str(clip.id), "stream_id": str(stream.id)})
    return clip, channel, clipper


def view(row: Row) -> ClipView:
    return ClipView.of(row, get_settings().public_hls_base_url)


def load(uow: UnitOfWork, clip_id: uuid.UUID) -> ClipView:
    row = uow.clips.get_full(clip_id)
    if row is None:
        raise errors.NotFound("No such clip.")
    return view(row)


def of_channel(uow: UnitOfWork, username: str, query: PageQuery) -> ClipPage:
    owner = uow.users.get_by_username(username)
    if owner is None:
        raise errors.UserNotFound()
    rows = uow.clips.of_channel(owner.id, limit=query.fetch,
                                after=query.after(datetime.fromisoformat, uuid.UUID))
    rows, cursor = query.page(rows, lambda row: (row[0].created_at.isoformat(), row[0].id))
    return ClipPage(items=[view(row) for row in rows], next_cursor=cursor)


def delete(uow: UnitOfWork, user_id: uuid.UUID, clip_id: uuid.UUID) -> None:
    """The clipper or the channel's owner deletes a clip; its files go once this commits."""
    from shared_lib.clips.cutting import remove_files

    clip = uow.clips.get(clip_id)
    if clip is None:
        raise errors.NotFound("No such clip.")
    if user_id not in (clip.clipped_by, clip.channel_id):
        raise errors.NotPermitted("Only the clipper or the channel's owner can delete this clip.")
    uow.clips.remove(clip)
    uow.after_commit(lambda: remove_files(clip_id))
