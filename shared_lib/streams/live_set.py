"""The set of live stream ids in Redis: the hot answer to "is this stream live?".

PostgreSQL's stream status is the truth. The event functions update the set after their
commit, best effort; the reaper rewrites it from PostgreSQL every minute, so a lost
update or a restarted Redis heals within a minute. Redis's client is imported when the set
is touched, after a commit: the ingest functions that import this module pay for it then.
"""

from __future__ import annotations

import logging
import uuid

log = logging.getLogger(__name__)


def mark(stream_id: uuid.UUID, *, live: bool) -> None:
    from shared_lib.cache import REDIS_ERRORS, Keys, get_redis

    try:
        redis = get_redis()
        (redis.sadd if live else redis.srem)(Keys.LIVE_STREAMS, str(stream_id))
    except REDIS_ERRORS:
        log.warning("Redis is down; the live set heals at the next reconcile")


def replace(stream_ids: list[uuid.UUID]) -> None:
    """Make the set exactly `stream_ids`, atomically."""
    from shared_lib.cache import REDIS_ERRORS, Keys, get_redis

    try:
        staging = Keys.LIVE_STREAMS + ":staging"
        pipe = get_redis().pipeline(transaction=True)
        pipe.delete(staging)
        if stream_ids:
            pipe.sadd(staging, *(str(i) for i in stream_ids))
            pipe.rename(staging, Keys.LIVE_STREAMS)
        else:
            pipe.delete(Keys.LIVE_STREAMS)
        pipe.execute()
    except REDIS_ERRORS:
        log.warning("Redis is down; the live set was not reconciled")
