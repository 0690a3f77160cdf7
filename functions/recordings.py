"""Replays: the recording-completed event function that makes them, delete-replay, and the
schedule that expires them. All three mount the media volume the ingest pod records into."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from shared_lib.catalog import Scaling
from shared_lib.config import get_settings
from shared_lib.events.types import EventType, data_of, stream_of
from shared_lib.http import event_function, http_function, scheduled_function
from shared_lib.recordings import services as recordings

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork

# A remux copies streams without re-encoding (about 1 s per 10 minutes of broadcast here,
# bench/recording.py), but reads and writes the whole file: few at a time, time to finish.
REMUX = Scaling(max_scale=5, concurrency=2, timeout_seconds=900, cpu="250m", memory="256Mi")


@event_function(EventType.RECORDING_COMPLETED, scaling=REMUX, media=True)
def on_recording_completed(event: CloudEvent, uow: UnitOfWork) -> None:
    """nginx closed a broadcast's recording: remux it into an HLS replay (or discard it when
    the channel turned recording off)."""
    stream_id = stream_of(event)
    if stream_id is not None:
        recordings.make_replay(uow, stream_id, str(data_of(event).get("path", "")))


@http_function("DELETE /api/streams/{id}/replay", auth="user", status=204, media=True)
def delete_replay(id: uuid.UUID, account: User, uow: UnitOfWork) -> None:
    """Delete one of your replays; its files go with it."""
    recordings.delete(uow, account.id, id)


@scheduled_function("17 * * * *", media=True)
def expire_replays() -> None:
    """Delete the replays older than the retention setting, and raw recordings left as long."""
    recordings.expire_all(days=get_settings().replay_retention_days)
