"""Streams as clients see them (DESIGN.md §3), with live viewer counts from Redis, and what
they send to create, edit and browse streams. Fields may be added, never renamed."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field

from shared_lib.accounts.shapes import UserSummary
from shared_lib.http.paging import Page, PageQuery
from shared_lib.http.requests import Request, Shape
from shared_lib.statuses import RecordingStatus, StreamStatus
from shared_lib.streams.categories import CATEGORIES

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.recordings.models import Recording
    from shared_lib.streams.models import LiveStream, StreamMetadata
    from shared_lib.streams.repository import Row as StreamRow


class Playback(Shape):
    hls: str
    dash: str


class Replay(Shape):
    """A finished broadcast as video on demand."""

    hls: str
    duration_seconds: float
    thumbnail_url: str | None


    @classmethod
    def of(cls, stream_id: uuid.UUID, recording: Recording | None, base: str) -> Replay | None:
        if recording is None or recording.status != RecordingStatus.READY:
            return None
        folder = f"{base}/replays/{stream_id}"
        return cls(hls=f"{folder}/index.m3u8", duration_seconds=recording.duration_seconds or 0.0,
                   thumbnail_url=f"{folder}/thumbnail.jpg")


class VideoInfo(Shape):
    codec: str | None
    width: int | None
    height: int | None
    frame_rate: int | None
    bitrate_kbps: int | None


class AudioInfo(Shape):
    codec: str | None
    bitrate_kbps: int | None


class Stream(Shape):
    """A broadcast as every client sees it. Never carries the stream key: playback URLs
    are built from the public stream id."""

    id: uuid.UUID
    user: UserSummary
    title: str
    description: str
    category: str | None
    category_name: str | None
    tags: list[str]
    language: str | None
    status: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    viewer_count: int
    thumbnail_url: str | None
    playback: Playback | None
    replay: Replay | None
    video: VideoInfo
    audio: AudioInfo

    @classmethod
    def of(cls, stream: LiveStream, metadata: StreamMetadata, user: User,
           recording: Recording | None = None, *, media_base_url: str,
           viewer_count: int | None = None, now: datetime | None = None) -> Stream:

        from shared_lib.streams.categories import category_name

        end = stream.ended_at or (now or datetime.now(UTC))
        duration = int((end - stream.started_at).total_seconds()) if stream.started_at else None
        base = media_base_url.rstrip("/")
        live = stream.status == StreamStatus.LIVE
        return cls(
            id=stream.id, user=UserSummary.of(user), title=metadata.title,
            description=metadata.description, category=metadata.category,
            category_name=category_name(metadata.category), tags=list(metadata.tags or []),
            language=metadata.language, status=stream.status, created_at=stream.created_at,
            started_at=stream.started_at, ended_at=stream.ended_at, duration_seconds=duration,
            viewer_count=stream.viewer_count if viewer_count is None else viewer_count,
            thumbnail_url=metadata.thumbnail_url,
            playback=Playback(hls=f"{base}/hls/{stream.id}.m3u8",
                              dash=f"{base}/dash/{stream.id}.mpd") if live else None,
            replay=Replay.of(stream.id, recording, base),
            video=VideoInfo(codec=metadata.video_codec, width=metadata.width,
                            height=metadata.height, frame_rate=metadata.frame_rate,
                            bitrate_kbps=metadata.video_bitrate_kbps),
            audio=AudioInfo(codec=metadata.audio_codec, bitrate_kbps=metadata.audio_bitrate_kbps),
        )


def live_viewers(rows: list[StreamRow]) -> dict[str, int]:
    """Viewers now of the live streams among `rows`, from Redis; {} if Redis is down (the
    counts PostgreSQL got at the last minute rollup stand in)."""
    import time

    from shared_lib.analytics.viewers import concurrent
    from shared_lib.cache import REDIS_ERRORS, get_redis
    from shared_lib.config import get_settings

    ids = [str(row[0].id) for row in rows if row[0].status == StreamStatus.LIVE]
    if not ids:
        return {}
    try:
        return concurrent(get_redis(), ids, now=time.time(),
                          window=get_settings().viewer_window_seconds)
    except REDIS_ERRORS:
        return {}


def views(rows: list[StreamRow]) -> list[Stream]:
    from shared_lib.config import get_settings

    base, live = get_settings().public_hls_base_url, live_viewers(rows)
    return [Stream.of(*row, media_base_url=base, viewer_count=live.get(str(row[0].id)))
            for row in rows]


TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,24}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
if TYPE_CHECKING:
    Category = str
else:  # the slugs as an enum in the OpenAPI document
    Category = Literal[tuple(CATEGORIES)]


def _tags(values: list[str]) -> list[str]:
    tags = []
    for value in values:
        tag = value.strip().lower()
        if not TAG.match(tag):
            raise ValueError("tags are 1 to 25 characters of a-z, 0-9 and -")
        if tag not in tags:
            tags.append(tag)
    return tags


def _language(value: str | None) -> str | None:
    if value is not None and not LANGUAGE.match(value):
        raise ValueError("languages are codes like en, de or pt-BR")
    return value


Tags = Annotated[list[str], Field(max_length=10), AfterValidator(_tags)]
Language = Annotated[str | None, AfterValidator(_language)]


class StreamDetails(Request):
    title: str = Field(min_length=1, max_length=140)
    description: str = Field(default="", max_length=2000)
    category: Category | None = None
    tags: Tags = []
    language: Language = None


class StreamChanges(Request):
    """Only the fields sent change."""

    # (The ignores: a default of None means absent, unchanged; a null sent is refused.)

    title: str = Field(default=None, min_length=1, max_length=140)  # type: ignore[assignment]
    description: str = Field(default=None, max_length=2000)  # type: ignore[assignment]
    category: Category | None = None
    tags: Tags = None  # type: ignore[assignment]
    language: Language = None


class StreamQuery(PageQuery):
    live: bool = True
    category: Category | None = None
    q: str | None = Field(default=None, min_length=1, max_length=100)


class StreamKey(Shape):
    stream_key: str
    rtmp_url: str
    rtmps_url: str = Field(description="the same server over TLS: the same key, the same checks")


class StreamPage(Page[Stream]):
    pass


# --- the ingest tier's calls ----------------------------------------------------------


class PublishCheck(Request):
    stream_key: str = Field(min_length=1, max_length=200)
    phase: Literal["publish", "update"] = "publish"
    pod: str = Field(default="local", min_length=1, max_length=100)
    # The sidecar's name for this publish: given, a stream not yet live goes live at once.
    publish_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")


class PublishAnswer(Shape):
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
