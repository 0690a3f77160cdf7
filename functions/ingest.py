"""The ingest tier's side of the API: authorize-publish and ingest-report (internal, for
the rtmp-ingest sidecar only), the stream started/ended event functions, and the reaper
that ends streams whose encoder or ingest pod vanished."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared_lib.catalog import Scaling
from shared_lib.config import get_settings
from shared_lib.events.types import EventType, data_of, publish_of, stream_of, time_of
from shared_lib.http import event_function, http_function, scheduled_function
from shared_lib.streams import services as streams
from shared_lib.streams.shapes import IngestReport, PublishAnswer, PublishCheck

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent

    from shared_lib.db import UnitOfWork

# nginx waits 10 s for its on_publish callback: this function must never be cold.
ALWAYS_WARM = Scaling(min_scale=1, max_scale=10, concurrency=50, timeout_seconds=10)


@http_function("POST /internal/ingest/authorize", body=PublishCheck, auth="internal",
               response=PublishAnswer, scaling=ALWAYS_WARM)
def authorize_publish(body: PublishCheck, uow: UnitOfWork) -> PublishAnswer:
    """May this key publish (phase publish: to which stream; one not yet live goes live now)
    or go on publishing (update)? 403 means no; the sidecar turns anything but a 200 into a
    refusal."""
    return PublishAnswer(stream_id=streams.authorize(uow, stream_key=body.stream_key,
                                                     phase=body.phase, pod=body.pod,
                                                     publish_id=body.publish_id))


@http_function("POST /internal/ingest/report", body=IngestReport, auth="internal", status=204)
def ingest_report(body: IngestReport, uow: UnitOfWork) -> None:
    """Codecs, resolution, frame rate, bitrates and thumbnails of the live streams."""
    for report in body.streams:
        streams.apply_report(uow, report.model_dump())


@event_function(EventType.STREAM_STARTED)
def on_stream_started(event: CloudEvent, uow: UnitOfWork) -> None:
    """The ingest tier began a publish: the stream is live."""
    stream_id = stream_of(event)
    if stream_id is not None:
        streams.start(uow, stream_id, at=time_of(event, "started_at"),
                      pod=data_of(event).get("pod"), publish_id=publish_of(event))


@event_function(EventType.STREAM_ENDED)
def on_stream_ended(event: CloudEvent, uow: UnitOfWork) -> None:
    """The publish ended (or was reaped as stale): the stream is over, with its duration."""
    stream_id = stream_of(event)
    reason = str(data_of(event).get("reason", "ended"))[:20]
    if stream_id is not None:
        streams.end(uow, stream_id, at=time_of(event, "ended_at"), reason=reason,
                    publish_id=publish_of(event))


@scheduled_function("* * * * *")
def reap_stale_streams(uow: UnitOfWork) -> None:
    """End the streams nobody has seen for a while, and rewrite Redis's live set."""
    streams.reap(uow, stale_seconds=get_settings().stale_stream_seconds)
