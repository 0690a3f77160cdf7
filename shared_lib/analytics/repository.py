"""Rolled-up viewing statistics, per-minute samples, and a channel's aggregates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared_lib.accounts.models import User
from shared_lib.analytics.models import ChannelView, StreamStats, ViewerSample
from shared_lib.follows.models import Follow
from shared_lib.statuses import StreamStatus
from shared_lib.streams.models import LiveStream, StreamMetadata


class SqlAnalyticsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def stats(self, stream_id: uuid.UUID) -> StreamStats | None:
        return self.session.get(StreamStats, stream_id)

    def stats_for_update(self, stream_id: uuid.UUID) -> StreamStats:
        """The stream's row, created if missing, locked so rollups of one stream serialize."""
        self.session.execute(insert(StreamStats).values(stream_id=stream_id)
                             .on_conflict_do_nothing())
        return self.session.scalars(select(StreamStats).where(StreamStats.stream_id == stream_id)
                                   .with_for_update().execution_options(populate_existing=True)).one()

    def raise_samples(self, stream_id: uuid.UUID, samples: dict[datetime, int]) -> None:
        """Record per-minute maxima; a minute seen twice keeps the larger count."""
        for minute, viewers in samples.items():
            statement = insert(ViewerSample).values(stream_id=stream_id, minute=minute,
                                                    viewers=viewers)
            self.session.execute(statement.on_conflict_do_update(
                index_elements=["stream_id", "minute"],
                set_={"viewers": func.greatest(ViewerSample.viewers, statement.excluded.viewers)},
            ))

    def add_channel_views(self, channel_id: uuid.UUID, watched_ms: dict[uuid.UUID, int]) -> None:
        """Add one rollup batch of logged-in viewers' watch time to their channel history."""
        known = set(self.session.scalars(select(User.id).where(User.id.in_(list(watched_ms)))))
        rows = [{"user_id": user_id, "channel_id": channel_id, "watch_seconds": ms // 1000,
                 "sessions": 1} for user_id, ms in watched_ms.items()
                if user_id != channel_id and user_id in known]
        if not rows:
            return
        statement = insert(ChannelView).values(rows)
        self.session.execute(statement.on_conflict_do_update(
            index_elements=["user_id", "channel_id"],
            set_={"watch_seconds": ChannelView.watch_seconds + statement.excluded.watch_seconds,
                  "sessions": ChannelView.sessions + 1, "last_watched_at": func.now()},
        ))

    def timeline(self, stream_id: uuid.UUID) -> list[ViewerSample]:
        query = (select(ViewerSample).where(ViewerSample.stream_id == stream_id)
                 .order_by(ViewerSample.minute))
        return list(self.session.scalars(query))

    def channel_totals(self, user_id: uuid.UUID) -> dict[str, Any]:
        row = self.session.execute(
            select(func.count(LiveStream.id),
                   func.coalesce(func.sum(StreamStats.total_views), 0),
                   func.coalesce(func.sum(StreamStats.watch_time_ms), 0),
                   func.coalesce(func.max(StreamStats.peak_viewers), 0),
                   func.coalesce(func.sum(StreamStats.unique_viewers), 0))
            .select_from(LiveStream)
            .outerjoin(StreamStats, StreamStats.stream_id == LiveStream.id)
            .where(LiveStream.user_id == user_id, LiveStream.status != StreamStatus.CREATED)
        ).one()
        return {"streams": row[0], "total_views": int(row[1]), "watch_time_ms": int(row[2]),
                "peak_viewers": int(row[3]), "unique_viewers_sum": int(row[4])}

    def top_streams(self, user_id: uuid.UUID, *, limit: int) -> list[tuple[Any, ...]]:
        query = (select(LiveStream, StreamMetadata, StreamStats)
                 .join(StreamMetadata, StreamMetadata.stream_id == LiveStream.id)
                 .join(StreamStats, StreamStats.stream_id == LiveStream.id)
                 .where(LiveStream.user_id == user_id)
                 .order_by(StreamStats.total_views.desc(), LiveStream.created_at.desc())
                 .limit(limit))
        return [tuple(row) for row in self.session.execute(query)]

    def follower_growth(self, user_id: uuid.UUID, *, since: datetime) -> list[tuple[Any, ...]]:
        """(day, new followers) for the days since `since` that gained any (current
        followers only: an unfollow removes its edge)."""
        # A literal, not a parameter: PostgreSQL must see GROUP BY and SELECT as one expression.
        day = func.date_trunc(literal_column("'day'"), Follow.created_at)
        query = (select(day, func.count()).where(Follow.followed_id == user_id,
                                                 Follow.created_at >= since)
                 .group_by(day).order_by(day))
        return [tuple(row) for row in self.session.execute(query)]
