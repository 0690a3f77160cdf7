"""Clips: create-clip, get-clip, channel-clips, delete-clip, the cut-clip event function
that cuts them, and the schedule that sweeps the files of clips gone with their accounts."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from shared_lib.catalog import Scaling
from shared_lib.clips import cutting, services
from shared_lib.clips.shapes import ClipPage, ClipRequest, ClipView
from shared_lib.events.types import EventType, data_of
from shared_lib.http import PageQuery, event_function, http_function, scheduled_function
from shared_lib.recordings.services import media_dir

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork

# A cut copies at most a minute of video (a fraction of a second of ffmpeg): a few at a
# time per pod, and a viewer waits for it, so one stays warm.
CUT = Scaling(min_scale=1, max_scale=5, concurrency=4, timeout_seconds=120, cpu="250m",
              memory="256Mi")


@http_function("POST /api/streams/{id}/clips", body=ClipRequest, auth="user", response=ClipView,
               status=202)
def create_clip(id: uuid.UUID, body: ClipRequest, account: User, uow: UnitOfWork) -> ClipView:
    """Clip the last `seconds` of a live stream, or of its replay up to `ends_at`: answered
    at once as `processing`; `ready` (with its MP4) a moment later, or `failed`."""
    return services.view(services.request(uow, account, id, body))


@http_function("GET /api/clips/{id}", response=ClipView)
def get_clip(id: uuid.UUID, uow: UnitOfWork) -> ClipView:
    """One clip, whatever its status."""
    return services.load(uow, id)


@http_function("GET /api/users/{username}/clips", query=PageQuery, response=ClipPage)
def channel_clips(username: str, query: PageQuery, uow: UnitOfWork) -> ClipPage:
    """A channel's ready clips, newest first."""
    return services.of_channel(uow, username, query)


@http_function("DELETE /api/clips/{id}", auth="user", status=204, media=True)
def delete_clip(id: uuid.UUID, account: User, uow: UnitOfWork) -> None:
    """Delete a clip you made, or one of your channel; its files go with it."""
    services.delete(uow, account.id, id)


@event_function(EventType.CLIP_REQUESTED, scaling=CUT, media=True)
def cut_clip(event: CloudEvent, uow: UnitOfWork) -> None:
    """Cut a requested clip from the segments on disk (stream copy) and mark it ready."""
    try:
        clip_id = uuid.UUID(str(data_of(event).get("clip_id") or event.get("subject")))
    except ValueError:
        return
    cutting.make(uow, clip_id)


@scheduled_function("41 3 * * *", media=True)
def sweep_clip_files() -> None:
    """Remove the files of clips deleted with their channel's or clipper's account."""
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        cutting.remove_orphans(uow, media_dir())
