"""Viewer analytics: record-view (the players' hot path, Redis only), stream-analytics and
channel-analytics (PostgreSQL, topped up with what Redis has not rolled up yet), the
minute rollup, and the final rollup when a stream ends."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from shared_lib.catalog import Scaling
from shared_lib.events import EventType, publish_of, stream_of
from shared_lib.http import Client, event_function, http_function, scheduled_function
from shared_lib.schemas import Request
from shared_lib.security import AccessClaims
from shared_lib.statuses import StreamStatus

HOT_PATH = Scaling(min_scale=0, max_scale=50, concurrency=50, timeout_seconds=10)


class ViewReport(Request):
    session_id: uuid.UUID
    action: Literal["join", "heartbeat", "leave"]


class ViewAccepted(BaseModel):
    concurrent_viewers: int


class Sample(BaseModel):
    minute: datetime
    viewers: int


class StreamAnalytics(BaseModel):
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


class GrowthDay(BaseModel):
    day: datetime
    new_followers: int


class TopStream(BaseModel):
    id: uuid.UUID
    title: str
    started_at: datetime | None
    total_views: int
    peak_viewers: int
    watch_time_seconds: int


class ChannelAnalytics(BaseModel):
    streams: int
    total_views: int
    watch_time_seconds: int
    average_watch_seconds: int
    peak_viewers: int
    followers: int
    follower_growth: list[GrowthDay]
    top_streams: list[TopStream]


def _stream_id(value: str) -> uuid.UUID:
    from shared_lib.errors import NotFound

    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("No such stream.") from None


def _require_live(stream_id: uuid.UUID) -> None:
    """The slow path, when Redis's live set does not have the stream: ask PostgreSQL."""
    from shared_lib import live_set
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import Conflict, NotFound

    with UnitOfWork() as uow:
        stream = uow.streams.get(stream_id)
    if stream is None:
        raise NotFound("No such stream.")
    if stream.status != StreamStatus.LIVE:
        raise Conflict(f"The stream is not live (it is {stream.status}).")
    live_set.mark(stream_id, live=True)


@http_function("POST /api/streams/{id}/views", body=ViewReport, auth="optional",
               response=ViewAccepted, status=202, scaling=HOT_PATH)
def record_view(id: str, body: ViewReport, user: AccessClaims | None,
                client: Client) -> ViewAccepted:
    """A player reports a join, a heartbeat (every 30 s) or a leave for its session."""
    from shared_lib import viewers
    from shared_lib.cache import get_redis, redis_errors
    from shared_lib.config import get_settings
    from shared_lib.errors import Throttled

    stream_id, settings = _stream_id(id), get_settings()

    def record():
        return viewers.record(
            get_redis(), stream_id=str(stream_id), session_id=str(body.session_id),
            viewer_id=f"u:{user.user_id}" if user else f"s:{body.session_id}",
            action=body.action, now=time.time(), window=settings.viewer_window_seconds,
            min_interval=settings.heartbeat_min_interval_seconds, address=client.address,
            per_address=settings.anonymous_viewers_per_address)

    with redis_errors():
        result = record()
        if result.not_live:
            _require_live(stream_id)  # 404 or 409, or the live set had lost it: healed
            result = record()
    if not result.accepted:
        raise Throttled("Heartbeats come every 30 seconds.", retry_after=result.retry_after)
    return ViewAccepted(concurrent_viewers=result.concurrent)


def _unrolled(stream_id: uuid.UUID, stats, *, window: int) -> dict:
    """What Redis holds for a stream beyond its rolled-up totals; {} when Redis is down."""
    from shared_lib.cache import REDIS_ERRORS, Keys, get_redis

    sid, last_batch = str(stream_id), stats.last_batch if stats else 0
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.get(Keys.viewer_views(sid))
        pipe.get(Keys.viewer_watch_ms(sid))
        pipe.hmget(Keys.viewer_rollup_pending(sid), "batch", "views", "watch_ms")
        pipe.pfcount(Keys.viewer_uniques(sid))
        pipe.get(Keys.viewer_peak(sid))
        pipe.zcount(Keys.viewer_sessions(sid), f"({time.time() - window}", "+inf")
        pipe.hgetall(Keys.viewer_timeline(sid))
        views, watch, (batch, p_views, p_watch), uniques, peak, now, timeline = pipe.execute()
    except REDIS_ERRORS:
        return {}
    pending = batch is not None and int(batch) > last_batch
    return {
        "views": int(views or 0) + (int(p_views or 0) if pending else 0),
        "watch_ms": int(watch or 0) + (int(p_watch or 0) if pending else 0),
        "uniques": int(uniques), "peak": int(peak or 0), "concurrent": int(now),
        "timeline": {int(k): int(v) for k, v in timeline.items()},
    }


@http_function("GET /api/streams/{id}/analytics", auth="user", response=StreamAnalytics)
def stream_analytics(id: str, user: AccessClaims) -> StreamAnalytics:
    """Your stream's viewers now, peak, uniques, views, watch time and per-minute timeline."""
    from shared_lib.config import get_settings
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import NotFound, NotPermitted

    stream_id = _stream_id(id)
    with UnitOfWork() as uow:
        stream = uow.streams.get(stream_id)
        if stream is None:
            raise NotFound("No such stream.")
        if stream.user_id != user.user_id:
            raise NotPermitted("Only the channel owner sees a stream's analytics.")
        stats = uow.analytics.stats(stream_id)
        samples = {int(s.minute.timestamp()): s.viewers for s in uow.analytics.timeline(stream_id)}
    live = stream.status == StreamStatus.LIVE
    extra = _unrolled(stream_id, stats, window=get_settings().viewer_window_seconds) if live else {}
    for minute, viewers in extra.get("timeline", {}).items():
        samples[minute] = max(samples.get(minute, 0), viewers)
    views = (stats.total_views if stats else 0) + extra.get("views", 0)
    watch = ((stats.watch_time_ms if stats else 0) + extra.get("watch_ms", 0)) // 1000
    return StreamAnalytics(
        stream_id=stream_id, status=stream.status,
        concurrent_viewers=extra.get("concurrent", stream.viewer_count) if live else 0,
        peak_viewers=max(stats.peak_viewers if stats else 0, extra.get("peak", 0)),
        unique_viewers=max(stats.unique_viewers if stats else 0, extra.get("uniques", 0)),
        total_views=views, watch_time_seconds=watch,
        average_watch_seconds=watch // views if views else 0,
        timeline=[Sample(minute=datetime.fromtimestamp(m, tz=UTC), viewers=v)
                  for m, v in sorted(samples.items())],
        final=bool(stats and stats.finalized_at),
    )


@http_function("GET /api/analytics/channel", auth="user", response=ChannelAnalytics)
def channel_analytics(user: AccessClaims) -> ChannelAnalytics:
    """Your channel: totals across streams, follower growth by day (30 days), top streams."""
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import InvalidToken

    since = datetime.now(UTC) - timedelta(days=30)
    with UnitOfWork() as uow:
        owner = uow.users.get(user.user_id)
        if owner is None:
            raise InvalidToken()
        totals = uow.analytics.channel_totals(user.user_id)
        growth = uow.analytics.follower_growth(user.user_id, since=since)
        top = uow.analytics.top_streams(user.user_id, limit=5)
    watch = totals["watch_time_ms"] // 1000
    return ChannelAnalytics(
        streams=totals["streams"], total_views=totals["total_views"], watch_time_seconds=watch,
        average_watch_seconds=watch // totals["total_views"] if totals["total_views"] else 0,
        peak_viewers=totals["peak_viewers"], followers=owner.followers_count,
        follower_growth=[GrowthDay(day=day, new_followers=n) for day, n in growth],
        top_streams=[TopStream(id=s.id, title=m.title, started_at=s.started_at,
                               total_views=st.total_views, peak_viewers=st.peak_viewers,
                               watch_time_seconds=st.watch_time_ms // 1000) for s, m, st in top],
    )


@scheduled_function("* * * * *")
def rollup_views() -> None:
    """Move the last minute of viewer activity into PostgreSQL, stream by stream."""
    from shared_lib.cache import Keys, get_redis_bytes
    from shared_lib.config import get_settings
    from shared_lib.db import UnitOfWork
    from shared_lib.rollup import rollup, streams_to_roll_up

    redis, window = get_redis_bytes(), get_settings().viewer_window_seconds
    with UnitOfWork() as uow:
        stream_ids = streams_to_roll_up(uow, redis)
    for stream_id in stream_ids:
        with UnitOfWork() as uow:
            if uow.streams.get(stream_id) is None:
                redis.srem(Keys.ANALYTICS_DIRTY, str(stream_id))
                continue
            rollup(uow, redis, stream_id, now=time.time(), window=window)


@event_function(EventType.STREAM_ENDED)
def finalize_stream_analytics(event, uow) -> None:
    """The stream ended: its final rollup (peak, uniques, views, watch time), once."""
    from shared_lib.cache import get_redis_bytes
    from shared_lib.config import get_settings
    from shared_lib.errors import Conflict
    from shared_lib.rollup import rollup

    stream_id = stream_of(event)
    stream = uow.streams.get(stream_id) if stream_id else None
    stats = uow.analytics.stats(stream_id) if stream else None
    if stream is None or (stats and stats.finalized_at):
        return
    if stream.status == StreamStatus.LIVE:
        publish = publish_of(event)
        if publish and stream.publish_id and publish != stream.publish_id:
            return  # the end of a publish a reconnect replaced: the broadcast goes on
        # on-stream-ended has not applied this end yet: the broker retries a 409 shortly.
        raise Conflict("The stream has not ended yet.")
    rollup(uow, get_redis_bytes(), stream_id, now=time.time(),
           window=get_settings().viewer_window_seconds, final=True)
