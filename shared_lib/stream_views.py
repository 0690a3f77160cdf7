"""Streams as clients see them: the response shape, with live viewer counts from Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared_lib.schemas import Stream
from shared_lib.statuses import StreamStatus

if TYPE_CHECKING:
    from shared_lib.repositories.streams import Row as StreamRow


def live_viewers(rows: list[StreamRow]) -> dict[str, int]:
    """Viewers now of the live streams among `rows`, from Redis; {} if Redis is down (the
    counts PostgreSQL got at the last minute rollup stand in)."""
    import time

    from shared_lib.cache import REDIS_ERRORS, get_redis
    from shared_lib.config import get_settings
    from shared_lib.viewers import concurrent

    ids = [str(row[0].id) for row in rows if row[0].status == StreamStatus.LIVE]
    if not ids:
        return {}
    try:
        return concurrent(get_redis(), ids, now=time.time(),
                          window=get_settings().viewer_window_seconds)
    except REDIS_ERRORS:
        return {}


def views(rows: list[StreamRow]) -> list[Stream]:
    from shared_lib.config import get_settings

    base, live = get_settings().public_hls_base_url, live_viewers(rows)
    return [Stream.of(*row, media_base_url=base, viewer_count=live.get(str(row[0].id)))
            for row in rows]
