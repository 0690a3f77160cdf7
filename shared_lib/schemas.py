"""Response shapes every client may rely on (DESIGN.md §3), and the field rules they share.

Fields may be added, never renamed. Request models live beside the function that takes them.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from shared_lib.errors import PasswordTooLong
from shared_lib.security import MAX_PASSWORD_BYTES
from shared_lib.statuses import RecordingStatus, StreamStatus

if TYPE_CHECKING:
    from shared_lib.models import LiveStream, Recording, StreamMetadata, User

USERNAME = re.compile(r"^[a-z0-9_]{3,30}$")
MIN_PASSWORD_BYTES = 8


class Request(BaseModel):
    """Base of request bodies: unknown fields are refused, strings are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=False)


def _username(value: str) -> str:
    value = value.lower()
    if not USERNAME.match(value):
        raise ValueError("usernames are 3 to 30 characters of a-z, 0-9 and _")
    return value


def _password(value: str) -> str:
    size = len(value.encode("utf-8"))
    if size > MAX_PASSWORD_BYTES:
        raise PasswordTooLong(details=[{"field": "password", "bytes": size}])
    if size < MIN_PASSWORD_BYTES:
        raise ValueError(f"passwords are at least {MIN_PASSWORD_BYTES} bytes")
    return value


Username = Annotated[str, AfterValidator(_username)]
Password = Annotated[str, AfterValidator(_password)]
LowerStr = Annotated[str, BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v)]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int


class PublicUser(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    bio: str
    avatar_url: str | None
    followers_count: int
    following_count: int
    is_live: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User, *, is_live: bool) -> PublicUser:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            bio=user.bio or "",
            avatar_url=user.avatar_url,
            followers_count=user.followers_count or 0,
            following_count=user.following_count or 0,
            is_live=is_live,
            created_at=user.created_at,
        )


class Me(PublicUser):
    email: str
    recording_enabled: bool

    @classmethod
    def of(cls, user: User, *, is_live: bool) -> Me:
        return cls(**PublicUser.of(user, is_live=is_live).model_dump(), email=user.email,
                   recording_enabled=user.recording_enabled)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class UserSummary(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    avatar_url: str | None

    @classmethod
    def of(cls, user: User) -> UserSummary:
        return cls(id=user.id, username=user.username, display_name=user.display_name,
                   avatar_url=user.avatar_url)


class Playback(BaseModel):
    hls: str
    dash: str


class Replay(BaseModel):
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


class VideoInfo(BaseModel):
    codec: str | None
    width: int | None
    height: int | None
    frame_rate: int | None
    bitrate_kbps: int | None


class AudioInfo(BaseModel):
    codec: str | None
    bitrate_kbps: int | None


class Stream(BaseModel):
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

        from shared_lib.categories import category_name

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
