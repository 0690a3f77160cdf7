"""The ingest tier's side of the API: authorize-publish and ingest-report (internal, for
the rtmp-ingest sidecar only), the stream started/ended event functions, and the reaper
that ends streams whose encoder or ingest pod vanished."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from shared_lib.catalog import Scaling
from shared_lib.events import EventType, data_of, publish_of, stream_of, time_of
from shared_lib.http import event_function, http_function, scheduled_function
from shared_lib.schemas import Request

# nginx waits 10 s for its on_publish callback: this function must never be cold.
ALWAYS_WARM = Scaling(min_scale=1, max_scale=10, concurrency=50, timeout_seconds=10)


class PublishCheck(Request):
    stream_key: str = Field(min_length=1, max_length=200)
    phase: Literal["publish", "update"] = "publish"
    pod: str = Field(default="local", min_length=1, max_length=100)


class PublishAnswer(BaseModel):
    stream_id: uuid.UUID | None


class StreamReport(Request):
    stream_id: uuid.UUID
    video_codec: str | None = Field(default=None, max_length=20)
    audio_codec: str | None = Field(default=None, max_length=20)
    width: int | None = Field(default=None, ge=0, le=16384)
    height: int | None = Field(default=None, ge=0, le=16384)
    frame_rate: int | None = Field(default=None, ge=0, le=1000)
    video_bitrate_kbps: int | None = Field(default=None, ge=0)
    audio_bitrate_kbps: int | None = Field(default=None, ge=0)
    thumbnail_url: str | None = Field(default=None, max_length=2000)


class IngestReport(Request):
    streams: list[StreamReport] = Field(max_length=1000)


@http_function("POST /internal/ingest/authorize", body=PublishCheck, auth="internal",
               response=PublishAnswer, scaling=ALWAYS_WARM)
def authorize_publish(body: PublishCheck) -> PublishAnswer:
    """May this key publish (phase publish: to which stream) or go on publishing (update)?
    403 means no; the sidecar turns anything but a 200 into a refusal."""
    from shared_lib import streams
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import NotPermitted

    with UnitOfWork() as uow:
        if body.phase == "update":
            allowed, stream_id = streams.still_authorized(uow, stream_key=body.stream_key), None
        else:
            stream = streams.claim_for_publish(uow, stream_key=body.stream_key, pod=body.pod)
            allowed, stream_id = stream is not None, stream.id if stream else None
        if not allowed:
            raise NotPermitted("That stream key is not valid.")
        uow.commit()
    return PublishAnswer(stream_id=stream_id)


@http_function("POST /internal/ingest/report", body=IngestReport, auth="internal", status=204)
def ingest_report(body: IngestReport) -> None:
    """Codecs, resolution, frame rate, bitrates and thumbnails of the live streams."""
    from shared_lib import streams
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        for report in body.streams:
            streams.apply_report(uow, report.model_dump())
        uow.commit()


@event_function(EventType.STREAM_STARTED)
def on_stream_started(event, uow) -> None:
    """The ingest tier began a publish: the stream is live."""
    from shared_lib import live_set, streams
    from shared_lib.events import deliver

    stream_id = stream_of(event)
    pod = data_of(event).get("pod")
    if stream_id is None:
        return
    started, superseded = streams.start(uow, stream_id, at=time_of(event, "started_at"), pod=pod,
                                        publish_id=publish_of(event))
    if started:
        uow.commit()
        live_set.mark(stream_id, live=True)
        for ended in superseded:
            live_set.mark(uuid.UUID(ended.subject), live=False)
        deliver(superseded)


@event_function(EventType.STREAM_ENDED)
def on_stream_ended(event, uow) -> None:
    """The publish ended (or was reaped as stale): the stream is over, with its duration."""
    from shared_lib import live_set, streams

    stream_id = stream_of(event)
    reason = data_of(event).get("reason", "ended")
    if stream_id and streams.end(uow, stream_id, at=time_of(event, "ended_at"), reason=str(reason)[:20],
                                 publish_id=publish_of(event)):
        uow.commit()
        live_set.mark(stream_id, live=False)


@scheduled_function("* * * * *")
def reap_stale_streams() -> None:
    """End the streams nobody has seen for a while, and rewrite Redis's live set."""
    from shared_lib import live_set, streams
    from shared_lib.config import get_settings
    from shared_lib.db import UnitOfWork
    from shared_lib.events import deliver

    with UnitOfWork() as uow:
        events = streams.reap(uow, stale_seconds=get_settings().stale_stream_seconds)
        uow.commit()
    deliver(events)
    with UnitOfWork() as uow:
        live_set.replace(uow.streams.live_ids())
