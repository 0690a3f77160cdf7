"""Streams: create-stream, update-stream, get-stream, list-streams, channel-streams,
rotate-stream-key."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from shared_lib.catalog import Scaling
from shared_lib.categories import CATEGORIES
from shared_lib.http import Reply, http_function
from shared_lib.pagination import PageQuery
from shared_lib.schemas import Page, Request, Stream
from shared_lib.security import AccessClaims
from shared_lib.stream_views import views

TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,24}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
Category = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]


def _tags(values: list[str]) -> list[str]:
    tags = []
    for value in values:
        tag = value.strip().lower()
        if not TAG.match(tag):
            raise ValueError("tags are 1 to 25 characters of a-z, 0-9 and -")
        if tag not in tags:
            tags.append(tag)
    return tags


def _language(value: str | None) -> str | None:
    if value is not None and not LANGUAGE.match(value):
        raise ValueError("languages are codes like en, de or pt-BR")
    return value


Tags = Annotated[list[str], Field(max_length=10), AfterValidator(_tags)]
Language = Annotated[str | None, AfterValidator(_language)]


# The browse and watch pages: a cold start here costs a viewer ~1 s (SQLAlchemy's import
# alone is ~0.45 s, bench/cold_start.py), so one pod of each stays warm.
WARM_READ = Scaling(min_scale=1, max_scale=30, concurrency=30, timeout_seconds=15)


class StreamDetails(Request):
    title: str = Field(min_length=1, max_length=140)
    description: str = Field(default="", max_length=2000)
    category: Category | None = None
    tags: Tags = []
    language: Language = None


class StreamChanges(Request):
    """Only the fields sent change."""

    title: str = Field(default=None, min_length=1, max_length=140)
    description: str = Field(default=None, max_length=2000)
    category: Category | None = None
    tags: Tags = None
    language: Language = None


class StreamQuery(PageQuery):
    live: bool = True
    category: Category | None = None
    q: str | None = Field(default=None, min_length=1, max_length=100)


class StreamKey(BaseModel):
    stream_key: str
    rtmp_url: str


class StreamPage(Page[Stream]):
    pass


def _load(uow, stream_id: uuid.UUID) -> Stream:
    from shared_lib.errors import NotFound

    row = uow.streams.get_full(stream_id)
    if row is None:
        raise NotFound("No such stream.")
    return views([row])[0]


def _stream_id(value: str) -> uuid.UUID:
    from shared_lib.errors import NotFound

    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("No such stream.") from None


@http_function("POST /api/streams", body=StreamDetails, auth="user", response=Stream, status=201)
def create_stream(body: StreamDetails, user: AccessClaims) -> Stream:
    """Create a stream ahead of time; your next publish goes live with it."""
    from shared_lib import streams
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        stream = streams.create(uow, user.user_id, **body.model_dump())
        uow.commit()
        return _load(uow, stream.id)


@http_function("PATCH /api/streams/{id}", body=StreamChanges, auth="user", response=Stream)
def update_stream(id: str, body: StreamChanges, user: AccessClaims) -> Stream:
    """Edit a stream's title, description, category, tags or language, also while live."""
    from shared_lib import streams
    from shared_lib.db import UnitOfWork

    stream_id = _stream_id(id)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    with UnitOfWork() as uow:
        streams.edit(uow, user.user_id, stream_id, **changes)
        uow.commit()
        return _load(uow, stream_id)


@http_function("GET /api/streams/{id}", response=Stream, scaling=WARM_READ)
def get_stream(id: str) -> Stream:
    """One stream, with its playback URLs while it is live."""
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        return _load(uow, _stream_id(id))


@http_function("GET /api/streams", query=StreamQuery, response=StreamPage, scaling=WARM_READ)
def list_streams(query: StreamQuery) -> StreamPage:
    """Live streams, most watched first (or, with live=false, every stream, newest first);
    filter by category, search titles with q."""
    from shared_lib.db import UnitOfWork
    from shared_lib.pagination import decode_cursor, page_of

    with UnitOfWork() as uow:
        if query.live:
            after = decode_cursor(query.cursor, int, uuid.UUID)
            rows = uow.streams.list_live(category=query.category, q=query.q, after=after,
                                         limit=query.limit + 1)
            rows, cursor = page_of(rows, query.limit, lambda r: (r[0].viewer_count, r[0].id))
        else:
            after = decode_cursor(query.cursor, datetime.fromisoformat, uuid.UUID)
            rows = uow.streams.list_all(category=query.category, q=query.q, after=after,
                                        limit=query.limit + 1)
            rows, cursor = page_of(rows, query.limit,
                                   lambda r: (r[0].created_at.isoformat(), r[0].id))
    return StreamPage(items=views(rows), next_cursor=cursor)


@http_function("GET /api/users/{username}/streams", query=PageQuery, response=StreamPage)
def channel_streams(username: str, query: PageQuery) -> StreamPage:
    """A channel's streams, newest first: scheduled, live and past broadcasts."""
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import UserNotFound
    from shared_lib.pagination import decode_cursor, page_of

    after = decode_cursor(query.cursor, datetime.fromisoformat, uuid.UUID)
    with UnitOfWork() as uow:
        owner = uow.users.get_by_username(username)
        if owner is None:
            raise UserNotFound()
        rows = uow.streams.list_all(user_id=owner.id, after=after, limit=query.limit + 1)
        rows, cursor = page_of(rows, query.limit, lambda r: (r[0].created_at.isoformat(), r[0].id))
    return StreamPage(items=views(rows), next_cursor=cursor)


@http_function("POST /api/streams/key", auth="user", response=StreamKey)
def rotate_stream_key(user: AccessClaims) -> Reply:
    """A new stream key, shown this once. The old key stops working, and a live publish
    that used it ends within seconds."""
    from shared_lib import streams
    from shared_lib.config import get_settings
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        key = streams.rotate_key(uow, user.user_id)
        uow.commit()
    body = StreamKey(stream_key=key, rtmp_url=get_settings().public_rtmp_url)
    return Reply(body.model_dump(), headers={"Cache-Control": "no-store"})
