"""Analytics as clients see them: a player's view report, a stream's and a channel's numbers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from shared_lib.http.requests import Request, Shape


class ViewReport(Request):
    session_id: uuid.UUID
    action: Literal["join", "heartbeat", "leave"]


class ViewAccepted(Shape):
    concurrent_viewers: int


class Sample(Shape):
    minute: datetime
    viewers: int


class StreamAnalytics(Shape):
    stream_id: uuid.UUID
    status: str
    concurrent_viewers: int
    peak_viewers: int
    unique_viewers: int
    total_views: int
    watch_time_seconds: int
    average_watch_seconds: int
    timeline: list[Sample]
    final: bool


class GrowthDay(Shape):
    day: datetime
    new_followers: int


class TopStream(Shape):
    id: uuid.UUID
    title: str
    started_at: datetime | None
    total_views: int
    peak_viewers: int
    watch_time_seconds: int


class ChannelAnalytics(Shape):
    streams: int
    total_views: int
    watch_time_seconds: int
    average_watch_seconds: int
    peak_viewers: int
    followers: int
    follower_growth: list[GrowthDay]
    top_streams: list[TopStream]
