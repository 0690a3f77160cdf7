"""Clips' data: one with the people it names, a channel's newest first, and how many a
viewer asked for lately."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import aliased

from shared_lib.accounts.models import User
from shared_lib.clips.models import Clip
from shared_lib.repositories import SqlRepository, keyset
from shared_lib.statuses import ClipStatus

# A clip, its channel and its clipper.
Row = tuple[Clip, User, User]


class SqlClipRepository(SqlRepository[Clip]):
    model = Clip

    def _rows(self) -> Select[tuple[Clip, User, User]]:
        channel, clipper = aliased(User), aliased(User)
        return (select(Clip, channel, clipper).join(channel, channel.id == Clip.channel_id)
                .join(clipper, clipper.id == Clip.clipped_by))

    def get_full(self, clip_id: uuid.UUID) -> Row | None:
        row = self.session.execute(self._rows().where(Clip.id == clip_id)).one_or_none()
        return (row[0], row[1], row[2]) if row else None

    def of_channel(self, channel_id: uuid.UUID, *, limit: int,
                   after: tuple[datetime, uuid.UUID] | None) -> list[Row]:
        """The channel's ready clips, newest first, from after the cursor's (created_at, id)."""
        query = self._rows().where(Clip.channel_id == channel_id, Clip.status == ClipStatus.READY)
        if after is not None:
            query = query.where(tuple_(Clip.created_at, Clip.id) < keyset(after))
        query = query.order_by(Clip.created_at.desc(), Clip.id.desc()).limit(limit)
        return [(row[0], row[1], row[2]) for row in self.session.execute(query)]

    def made_by_since(self, user_id: uuid.UUID, since: datetime) -> tuple[int, datetime | None]:
        """How many clips the user asked for since then, and the oldest of them."""
        count, oldest = self.session.execute(
            select(func.count(), func.min(Clip.created_at))
            .where(Clip.clipped_by == user_id, Clip.created_at >= since)).one()
        return int(count), oldest

    def remove(self, clip: Clip) -> None:
        self.session.delete(clip)

    def existing(self, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        return set(self.session.scalars(select(Clip.id).where(Clip.id.in_(ids))))
