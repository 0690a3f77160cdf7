"""Streams' data: lookups, the live directory with its filters, and a channel's broadcasts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, tuple_, update

from shared_lib.accounts.models import User
from shared_lib.recordings.models import Recording
from shared_lib.repositories import SqlRepository, escape_like, keyset, seconds_ago
from shared_lib.statuses import StreamStatus
from shared_lib.streams.models import LiveStream, StreamMetadata

Row = tuple[LiveStream, StreamMetadata, User, Recording | None]


class SqlStreamRepository(SqlRepository[LiveStream]):
    model = LiveStream

    def _rows(self) -> Select[tuple[LiveStream, StreamMetadata, User, Recording]]:
        return (
            select(LiveStream, StreamMetadata, User, Recording)
            .join(StreamMetadata, StreamMetadata.stream_id == LiveStream.id)
            .join(User, User.id == LiveStream.user_id)
            .outerjoin(Recording, Recording.stream_id == LiveStream.id)
        )

    def get_full(self, stream_id: uuid.UUID) -> Row | None:
        row = self.session.execute(self._rows().where(LiveStream.id == stream_id)).first()
        return tuple(row) if row else None

    def metadata(self, stream_id: uuid.UUID) -> StreamMetadata | None:
        return self.session.get(StreamMetadata, stream_id)

    def create_with_metadata(self, metadata: dict[str, Any], **fields: Any) -> LiveStream:
        stream = self.create(**fields)
        self.session.add(StreamMetadata(stream_id=stream.id, **metadata))
        self.session.flush()
        return stream

    def list_live(self, *, category: str | None, q: str | None,
                  after: tuple[int, uuid.UUID] | None, limit: int) -> list[Row]:
        """Live streams, most watched first."""
        query = self._rows().where(LiveStream.status == StreamStatus.LIVE)
        query = _filtered(query, category, q)
        if after is not None:
            query = query.where(tuple_(LiveStream.viewer_count, LiveStream.id) < keyset(after))
        query = query.order_by(LiveStream.viewer_count.desc(), LiveStream.id.desc()).limit(limit)
        return [tuple(row) for row in self.session.execute(query)]

    def list_all(self, *, user_id: uuid.UUID | None = None, category: str | None = None,
                 q: str | None = None, after: tuple[datetime, uuid.UUID] | None,
                 limit: int) -> list[Row]:
        """Streams of every status (or one channel's), newest first."""
        query = self._rows()
        if user_id is not None:
            query = query.where(LiveStream.user_id == user_id)
        query = _filtered(query, category, q)
        if after is not None:
            query = query.where(tuple_(LiveStream.created_at, LiveStream.id) < keyset(after))
        query = query.order_by(LiveStream.created_at.desc(), LiveStream.id.desc()).limit(limit)
        return [tuple(row) for row in self.session.execute(query)]

    def live_of(self, user_id: uuid.UUID) -> LiveStream | None:
        query = select(LiveStream).where(LiveStream.user_id == user_id,
                                         LiveStream.status == StreamStatus.LIVE)
        return self.session.scalar(query)

    def next_scheduled(self, user_id: uuid.UUID) -> LiveStream | None:
        """The newest stream created ahead of time and not yet broadcast."""
        query = (select(LiveStream)
                 .where(LiveStream.user_id == user_id, LiveStream.status == StreamStatus.CREATED)
                 .order_by(LiveStream.created_at.desc()).limit(1))
        return self.session.scalar(query)

    def latest_metadata(self, user_id: uuid.UUID) -> StreamMetadata | None:
        """The metadata of the channel's newest stream: the defaults of the next one."""
        query = (select(StreamMetadata)
                 .join(LiveStream, LiveStream.id == StreamMetadata.stream_id)
                 .where(LiveStream.user_id == user_id)
                 .order_by(LiveStream.created_at.desc()).limit(1))
        return self.session.scalar(query)

    def touch(self, stream_id: uuid.UUID, *, every_seconds: int = 10) -> None:
        """Record that the ingest tier still sees this stream (at most one write per period)."""
        self.session.execute(
            update(LiveStream)
            .where(LiveStream.id == stream_id,
                   (LiveStream.last_seen_at.is_(None))
                   | (LiveStream.last_seen_at < seconds_ago(every_seconds)))
            .values(last_seen_at=func.now())
        )

    def stale_live(self, *, older_than_seconds: int, limit: int = 500) -> list[LiveStream]:
        cutoff = seconds_ago(older_than_seconds)
        query = (select(LiveStream)
                 .where(LiveStream.status == StreamStatus.LIVE,
                        func.coalesce(LiveStream.last_seen_at, LiveStream.started_at) < cutoff)
                 .limit(limit))
        return list(self.session.scalars(query))

    def live_ids(self) -> list[uuid.UUID]:
        return list(self.session.scalars(select(LiveStream.id).where(LiveStream.status == StreamStatus.LIVE)))

    def lock(self, stream_id: uuid.UUID) -> LiveStream | None:
        return self.session.scalar(select(LiveStream).where(LiveStream.id == stream_id)
                                   .with_for_update())


def _filtered(query: Select[Any], category: str | None, q: str | None) -> Select[Any]:
    if category:
        query = query.where(StreamMetadata.category == category)
    if q:
        pattern = "%" + escape_like(q.lower()) + "%"
        query = query.where(func.lower(StreamMetadata.title).like(pattern, escape="\\"))
    return query
