"""Reading streams as clients see them: one stream, the live directory (most watched first)
or every stream (newest first), and a channel's broadcasts, a page at a time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from shared_lib import errors
from shared_lib.streams.shapes import Stream, StreamPage, StreamQuery, views

if TYPE_CHECKING:
    from shared_lib.db import UnitOfWork
    from shared_lib.http.paging import PageQuery
    from shared_lib.streams.repository import Row


def load(uow: UnitOfWork, stream_id: uuid.UUID) -> Stream:
    row = uow.streams.get_full(stream_id)
    if row is None:
        raise errors.NotFound("No such stream.")
    return views([row])[0]


def _newest_first(row: Row) -> tuple[str, uuid.UUID]:
    return row[0].created_at.isoformat(), row[0].id


def browse(uow: UnitOfWork, query: StreamQuery) -> StreamPage:
    if query.live:
        rows = uow.streams.list_live(category=query.category, q=query.q, limit=query.fetch,
                                     after=query.after(int, uuid.UUID))
        rows, cursor = query.page(rows, lambda row: (row[0].viewer_count, row[0].id))
    else:
        rows = uow.streams.list_all(category=query.category, q=query.q, limit=query.fetch,
                                    after=query.after(datetime.fromisoformat, uuid.UUID))
        rows, cursor = query.page(rows, _newest_first)
    return StreamPage(items=views(rows), next_cursor=cursor)


def of_channel(uow: UnitOfWork, username: str, query: PageQuery) -> StreamPage:
    owner = uow.users.get_by_username(username)
    if owner is None:
        raise errors.UserNotFound()
    rows = uow.streams.list_all(user_id=owner.id, limit=query.fetch,
                                after=query.after(datetime.fromisoformat, uuid.UUID))
    rows, cursor = query.page(rows, _newest_first)
    return StreamPage(items=views(rows), next_cursor=cursor)
