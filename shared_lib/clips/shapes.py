"""Clips as clients see them (DESIGN.md §11), and what a viewer sends to make one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import Field

from shared_lib.accounts.shapes import UserSummary
from shared_lib.http.paging import Page
from shared_lib.http.requests import Request, Shape
from shared_lib.statuses import ClipStatus

if TYPE_CHECKING:
    from shared_lib.clips.repository import Row

MIN_SECONDS, MAX_SECONDS, DEFAULT_SECONDS = 5, 60, 30


class ClipRequest(Request):
    seconds: int = Field(default=DEFAULT_SECONDS, ge=MIN_SECONDS, le=MAX_SECONDS,
                         description="how much to clip: the last 5 to 60 seconds")
    title: str | None = Field(default=None, min_length=1, max_length=140,
                              description="the stream's title when left out")
    ends_at: float | None = Field(
        default=None, ge=0, le=1_000_000,
        description="on a replay, where the clip ends (seconds into it: the playhead); left "
                    "out, a live stream is clipped up to now and a replay up to its end")


class ClipPlayback(Shape):
    mp4: str


class ClipView(Shape):
    id: uuid.UUID
    stream_id: uuid.UUID
    channel: UserSummary
    clipped_by: UserSummary
    title: str
    duration_seconds: float | None = Field(description="once ready: what was cut")
    status: ClipStatus
    created_at: datetime
    playback: ClipPlayback | None = Field(description="once ready")
    thumbnail_url: str | None = Field(description="once ready")

    @classmethod
    def of(cls, row: Row, base: str) -> ClipView:
        clip, channel, clipper = row
        ready = clip.status == ClipStatus.READY
        folder = f"{base.rstrip('/')}/clips/{clip.id}"
        return cls(id=clip.id, stream_id=clip.stream_id, channel=UserSummary.of(channel),
                   clipped_by=UserSummary.of(clipper), title=clip.title,
                   duration_seconds=clip.duration_seconds if ready else None,
                   status=ClipStatus(clip.status), created_at=clip.created_at,
                   playback=ClipPlayback(mp4=f"{folder}.mp4") if ready else None,
                   thumbnail_url=f"{folder}.jpg" if ready else None)


class ClipPage(Page[ClipView]):
    pass
