"""Streams: create-stream, update-stream, get-stream, list-streams, channel-streams,
rotate-stream-key."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from shared_lib.cache import Keys
from shared_lib.catalog import Scaling
from shared_lib.config import get_settings
from shared_lib.http import Cached, PageQuery, Reply, http_function
from shared_lib.streams import directory, services
from shared_lib.streams.shapes import (
    Stream,
    StreamChanges,
    StreamDetails,
    StreamKey,
    StreamPage,
    StreamQuery,
)

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork

# The browse and watch pages: a cold start here costs a viewer ~1 s (SQLAlchemy's import
# alone is ~0.45 s, bench/cold_start.py), so one pod of each stays warm.
WARM_READ = Scaling(min_scale=1, max_scale=30, concurrency=30, timeout_seconds=15)
# ...and what they show is computed once a second per process (and kept as long by the
# front door): viewer counts and status are at most a second old; an owner's edit shows at
# once (it bumps the version).
DIRECTORY = Cached(seconds=1, version_key=Keys.STREAMS_VERSION)


@http_function("POST /api/streams", body=StreamDetails, auth="user", response=Stream, status=201)
def create_stream(body: StreamDetails, account: User, uow: UnitOfWork) -> Stream:
    """Create a stream ahead of time; your next publish goes live with it."""
    stream = services.create(uow, account.id, **body.model_dump())
    return directory.load(uow, stream.id)


@http_function("PATCH /api/streams/{id}", body=StreamChanges, auth="user", response=Stream)
def update_stream(id: uuid.UUID, body: StreamChanges, account: User, uow: UnitOfWork) -> Stream:
    """Edit a stream's title, description, category, tags or language, also while live."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    services.edit(uow, account.id, id, **changes)
    return directory.load(uow, id)


@http_function("GET /api/streams/{id}", response=Stream, scaling=WARM_READ, cache=DIRECTORY)
def get_stream(id: uuid.UUID, uow: UnitOfWork) -> Stream:
    """One stream, with its playback URLs while it is live."""
    return directory.load(uow, id)


@http_function("GET /api/streams", query=StreamQuery, response=StreamPage, scaling=WARM_READ,
               cache=DIRECTORY)
def list_streams(query: StreamQuery, uow: UnitOfWork) -> StreamPage:
    """Live streams, most watched first (or, with live=false, every stream, newest first);
    filter by category, search titles with q."""
    return directory.browse(uow, query)


@http_function("GET /api/users/{username}/streams", query=PageQuery, response=StreamPage)
def channel_streams(username: str, query: PageQuery, uow: UnitOfWork) -> StreamPage:
    """A channel's streams, newest first: scheduled, live and past broadcasts."""
    return directory.of_channel(uow, username, query)


@http_function("POST /api/streams/key", auth="user", response=StreamKey)
def rotate_stream_key(account: User, uow: UnitOfWork) -> Reply:
    """A new stream key, shown this once. The old key stops working, and a live publish
    that used it ends within seconds."""
    key = services.rotate_key(uow, account.id)
    settings = get_settings()
    body = StreamKey(stream_key=key, rtmp_url=settings.public_rtmp_url,
                     rtmps_url=settings.public_rtmps_url)
    return Reply(body.model_dump(), headers={"Cache-Control": "no-store"})
