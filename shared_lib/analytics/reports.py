"""What a channel owner reads: a stream's numbers and a channel's, from PostgreSQL's
rolled-up totals topped up with what Redis holds that the minute rollup has not moved yet."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared_lib import errors
from shared_lib.analytics.shapes import ChannelAnalytics, GrowthDay, Sample, StreamAnalytics, TopStream
from shared_lib.cache import REDIS_ERRORS, Keys, get_redis
from shared_lib.config import get_settings
from shared_lib.statuses import StreamStatus

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.analytics.models import StreamStats
    from shared_lib.db import UnitOfWork

GROWTH_DAYS = 30
TOP_STREAMS = 5


def _unrolled(stream_id: uuid.UUID, stats: StreamStats | None, *, window: int) -> dict[str, Any]:
    """What Redis holds for a stream beyond its rolled-up totals; {} when Redis is down."""
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


def stream_report(uow: UnitOfWork, account: User, stream_id: uuid.UUID) -> StreamAnalytics:
    """A stream's viewers now, peak, uniques, views, watch time and per-minute timeline."""
    stream = uow.streams.get(stream_id)
    if stream is None:
        raise errors.NotFound("No such stream.")
    if stream.user_id != account.id:
        raise errors.NotPermitted("Only the channel owner sees a stream's analytics.")
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


def channel_report(uow: UnitOfWork, account: User) -> ChannelAnalytics:
    """A channel's totals across streams, follower growth by day, and its top streams."""
    since = datetime.now(UTC) - timedelta(days=GROWTH_DAYS)
    totals = uow.analytics.channel_totals(account.id)
    growth = uow.analytics.follower_growth(account.id, since=since)
    top = uow.analytics.top_streams(account.id, limit=TOP_STREAMS)
    watch = totals["watch_time_ms"] // 1000
    return ChannelAnalytics(
        streams=totals["streams"], total_views=totals["total_views"], watch_time_seconds=watch,
        average_watch_seconds=watch // totals["total_views"] if totals["total_views"] else 0,
        peak_viewers=totals["peak_viewers"], followers=account.followers_count,
        follower_growth=[GrowthDay(day=day, new_followers=n) for day, n in growth],
        top_streams=[TopStream(id=s.id, title=m.title, started_at=s.started_at,
                               total_views=st.total_views, peak_viewers=st.peak_viewers,
                               watch_time_seconds=st.watch_time_ms // 1000) for s, m, st in top],
    )
