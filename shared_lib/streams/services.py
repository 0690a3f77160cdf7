"""A broadcast's life: created ahead of time (or on publish), live, ended for good.

Stream keys are secrets like passwords: only their SHA-256 is stored, the key itself is
shown once by `rotate_key`, and a publish is matched by hashing what the encoder sent and
comparing digests in constant time. Status changes come from the ingest tier's events
(`start`, `end`), each idempotent by state as well as by event id, so a redelivered or
duplicated event changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared_lib import errors
from shared_lib.events.outbox import record
from shared_lib.events.types import EventType
from shared_lib.security import hash_secret, new_secret, secret_matches
from shared_lib.statuses import StreamStatus
from shared_lib.streams import live_set

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork
    from shared_lib.streams.models import LiveStream

KEY_PREFIX = "live_"
EDITABLE = ("title", "description", "category", "tags", "language")


def rotate_key(uow: UnitOfWork, user_id: uuid.UUID) -> str:
    """A new stream key for the channel; the old one stops working at once, and a live
    publish that used it is ended at its next ingest check."""
    user = uow.users.get(user_id)
    if user is None:
        raise errors.InvalidToken()
    key = KEY_PREFIX + new_secret()
    user.stream_key_hash = hash_secret(key)
    user.stream_key_rotated_at = datetime.now(UTC)
    return key


def user_for_key(uow: UnitOfWork, stream_key: str) -> User | None:
    """The channel whose current key this is. The digest finds the row through its unique
    index; the digests are then compared in constant time."""
    if not stream_key.startswith(KEY_PREFIX) or len(stream_key) > 200:
        return None
    digest = hash_secret(stream_key)
    user = uow.users.get_by_stream_key_hash(digest)
    return user if user is not None and secret_matches(stream_key, user.stream_key_hash) else None


def changed(uow: UnitOfWork) -> None:
    """What the directory shows changed: cached answers go once this commits."""
    from shared_lib.cache import Keys
    from shared_lib.http.answers import bump

    uow.after_commit(lambda: bump(Keys.STREAMS_VERSION))


def create(uow: UnitOfWork, user_id: uuid.UUID, **fields: Any) -> LiveStream:
    changed(uow)
    return uow.streams.create_with_metadata({k: v for k, v in fields.items() if k in EDITABLE},
                                            id=uuid.uuid4(), user_id=user_id,
                                            status=StreamStatus.CREATED)


def edit(uow: UnitOfWork, user_id: uuid.UUID, stream_id: uuid.UUID, **fields: Any) -> None:
    stream = uow.streams.lock(stream_id)
    if stream is None:
        raise errors.NotFound("No such stream.")
    if stream.user_id != user_id:
        raise errors.NotPermitted("Only the channel owner can edit this stream.")
    if stream.status == StreamStatus.ENDED:
        raise errors.Conflict("The stream has ended; its details can no longer change.")
    metadata = uow.streams.metadata(stream_id)
    if metadata is None:
        raise errors.NotFound("No such stream.")
    for name, value in fields.items():
        if name in EDITABLE:
            setattr(metadata, name, value)
    metadata.updated_at = datetime.now(UTC)
    changed(uow)


def authorize(uow: UnitOfWork, *, stream_key: str, phase: str, pod: str,
              publish_id: str | None = None) -> uuid.UUID | None:
    """May this key publish (phase publish: the stream it goes to) or go on publishing
    (update: None)? NotPermitted when not.

    A publish named by the sidecar (`publish_id`) onto a stream that is not live yet makes it
    live here, in the answer's transaction: viewers see it live as soon as nginx takes the
    publish rather than once the relay into `show` has begun and its stream.started event
    came round (the event, with the same publish id, then changes nothing; its other
    consumers, the notifications and webhooks, still go by it). A stream already live (an
    encoder reconnecting, or a second encoder nginx is about to refuse) waits for that event,
    so a publish nginx refuses never takes over the one that runs."""
    if phase == "update":
        if still_authorized(uow, stream_key=stream_key):
            return None
    else:
        stream = claim_for_publish(uow, stream_key=stream_key, pod=pod)
        if stream is not None:
            if publish_id and stream.status == StreamStatus.CREATED:
                start(uow, stream.id, at=stream.last_seen_at or datetime.now(UTC), pod=pod,
                      publish_id=publish_id)
            return stream.id
    raise errors.NotPermitted("That stream key is not valid.")


def claim_for_publish(uow: UnitOfWork, *, stream_key: str, pod: str) -> LiveStream | None:
    """The stream a publish with this key goes to, or None to refuse it.

    The channel's live stream if it has one (nginx itself refuses a second encoder on the
    same key, and an encoder reconnecting goes on where it was), else its newest stream
    created ahead of time, else a new one with the channel's last title and category.
    """
    user = user_for_key(uow, stream_key)
    if user is None:
        return None
    uow.users.lock(user.id)
    stream = uow.streams.live_of(user.id) or uow.streams.next_scheduled(user.id)
    if stream is None:
        last = uow.streams.latest_metadata(user.id)
        defaults = {name: getattr(last, name) for name in EDITABLE} if last else {
            "title": f"{user.display_name} is live", "description": "", "tags": []}
        stream = create(uow, user.id, **defaults)
    stream.ingest_pod = pod
    stream.last_seen_at = datetime.now(UTC)
    return stream


def still_authorized(uow: UnitOfWork, *, stream_key: str) -> bool:
    """The periodic ingest check: is this key still the channel's key? Also marks the
    channel's live stream as seen, which keeps the reaper away."""
    user = user_for_key(uow, stream_key)
    if user is None:
        return False
    stream = uow.streams.live_of(user.id)
    if stream is not None:
        uow.streams.touch(stream.id)
    return True


SUPERSEDE_SOURCE = "/functions/on-stream-started"


def start(uow: UnitOfWork, stream_id: uuid.UUID, *, at: datetime, pod: str | None,
          publish_id: str | None = None) -> bool:
    """created -> live: whether it changed. Redis's live set follows after the commit.

    A channel is live once: a newer broadcast supersedes a live one, which ends here and
    gets its stream.ended event like any other (so its analytics are finalized). A publish
    onto a stream that is already live (an encoder reconnecting) becomes its current one."""
    stream = uow.streams.lock(stream_id)
    if stream is not None and stream.status == StreamStatus.LIVE and publish_id:
        stream.publish_id, stream.last_seen_at = publish_id, max(at, stream.last_seen_at or at)
        stream.ingest_pod = pod or stream.ingest_pod
        return False
    if stream is None or stream.status != StreamStatus.CREATED:
        return False
    previous = uow.streams.live_of(stream.user_id)
    if previous is not None and end(uow, previous.id, at=at, reason="superseded"):
        uow.session.flush()
        record(uow, type=EventType.STREAM_ENDED, source=SUPERSEDE_SOURCE, subject=str(previous.id),
               data={"stream_id": str(previous.id), "ended_at": at.isoformat(),
                     "reason": "superseded"})
    stream.status, stream.started_at, stream.last_seen_at = StreamStatus.LIVE, at, at
    changed(uow)
    stream.ingest_pod, stream.publish_id = pod or stream.ingest_pod, publish_id
    uow.after_commit(lambda: live_set.mark(stream_id, live=True))
    return True


def end(uow: UnitOfWork, stream_id: uuid.UUID, *, at: datetime, reason: str,
        publish_id: str | None = None) -> bool:
    """live -> ended, for good. False when there is nothing to do, or when `publish_id`
    names a publish that a newer one (a reconnect) has replaced."""
    stream = uow.streams.lock(stream_id)
    if stream is None or stream.status != StreamStatus.LIVE:
        return False
    if publish_id and stream.publish_id and publish_id != stream.publish_id:
        return False
    stream.status, stream.end_reason = StreamStatus.ENDED, reason
    changed(uow)
    stream.ended_at = max(at, stream.started_at or at)
    stream.viewer_count = 0
    uow.after_commit(lambda: live_set.mark(stream_id, live=False))
    return True


REAPER_SOURCE = "/functions/reap-stale-streams"


def reap(uow: UnitOfWork, *, stale_seconds: int) -> None:
    """Announce the end of every live stream the ingest tier has not seen for
    `stale_seconds` (its encoder or its ingest pod vanished), and rewrite Redis's live set
    from PostgreSQL. The events go through the outbox, and the stream-ended consumer ends
    those streams as it ends any other."""
    now = datetime.now(UTC)
    for stream in uow.streams.stale_live(older_than_seconds=stale_seconds):
        record(uow, type=EventType.STREAM_ENDED, source=REAPER_SOURCE, subject=str(stream.id),
               data={"stream_id": str(stream.id), "ended_at": now.isoformat(), "reason": "stale"})
    live = uow.streams.live_ids()
    uow.after_commit(lambda: live_set.replace(live))


def apply_report(uow: UnitOfWork, report: dict[str, Any]) -> bool:
    """Technical metadata the ingest tier read off nginx's stat page, and the thumbnail."""
    metadata = uow.streams.metadata(report["stream_id"])
    if metadata is None:
        return False
    for field in ("video_codec", "audio_codec", "width", "height", "frame_rate",
                  "video_bitrate_kbps", "audio_bitrate_kbps", "thumbnail_url"):
        if report.get(field) is not None:
            setattr(metadata, field, report[field])
    metadata.updated_at = datetime.now(UTC)
    uow.streams.touch(report["stream_id"])
    return True
