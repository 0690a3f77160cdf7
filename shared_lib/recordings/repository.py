"""Recordings' data: a stream's recording, and the ones retention has expired."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from shared_lib.recordings.models import Recording
from shared_lib.repositories import SqlRepository
from shared_lib.statuses import RecordingStatus


class SqlRecordingRepository(SqlRepository[Recording]):
    model = Recording

    def ready_before(self, cutoff: datetime, *, limit: int) -> list[Recording]:
        """Replays made before `cutoff`, oldest first, locked against a concurrent delete."""
        query = (select(Recording)
                 .where(Recording.status == RecordingStatus.READY, Recording.ready_at < cutoff)
                 .order_by(Recording.ready_at).limit(limit).with_for_update(skip_locked=True))
        return list(self.session.scalars(query))
