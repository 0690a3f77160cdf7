"""Replays: the recording-completed event function that makes them, delete-replay, and the
schedule that expires them. All three mount the media volume the ingest pod records into."""

from __future__ import annotations

import uuid

from shared_lib.catalog import Scaling
from shared_lib.events import EventType, data_of, stream_of
from shared_lib.http import event_function, http_function, scheduled_function

# A remux copies streams without re-encoding (about 1 s per 10 minutes of broadcast here,
# bench/recording.py), but reads and writes the whole file: few at a time, time to finish.
REMUX = Scaling(max_scale=5, concurrency=2, timeout_seconds=900, cpu="250m", memory="256Mi")


@event_function(EventType.RECORDING_COMPLETED, scaling=REMUX, media=True)
def on_recording_completed(event, uow) -> None:
    """nginx closed a broadcast's recording: remux it into an HLS replay (or discard it when
    the channel turned recording off)."""
    from shared_lib import recordings
    from shared_lib.errors import ProcessingFailed

    stream_id = stream_of(event)
    if stream_id is None:
        return
    media = recordings.media_dir()
    try:
        raw = recordings.complete(uow, media, stream_id, str(data_of(event).get("path", "")))
    except ProcessingFailed as failure:
        recordings.record_failure(stream_id, failure.message)
        raise
    uow.commit()
    recordings.unlink_quietly(raw)


@http_function("DELETE /api/streams/{id}/replay", auth="user", status=204, media=True)
def delete_replay(id: str, user) -> None:
    """Delete one of your replays; its files go with it."""
    from shared_lib import recordings
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import NotFound

    try:
        stream_id = uuid.UUID(id)
    except ValueError:
        raise NotFound("No such stream.") from None
    with UnitOfWork() as uow:
        recordings.delete(uow, user.user_id, stream_id)
        uow.commit()
    recordings.remove_files(recordings.media_dir(), stream_id)


@scheduled_function("17 * * * *", media=True)
def expire_replays() -> None:
    """Delete the replays older than the retention setting, and raw recordings left as long."""
    from shared_lib import recordings
    from shared_lib.config import get_settings
    from shared_lib.db import UnitOfWork

    days, media = get_settings().replay_retention_days, recordings.media_dir()
    while True:
        with UnitOfWork() as uow:
            expired = recordings.expire(uow, days=days)
            uow.commit()
        for stream_id in expired:
            recordings.remove_files(media, stream_id)
        if not expired:
            break
    recordings.remove_stale_raw(media, days=days)
