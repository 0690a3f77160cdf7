"""Viewer activity in Redis: the hot path of record-view.

Per live stream:
    sessions   ZSET session id -> last seen; concurrent viewers are those seen in the window
    uniques    HyperLogLog of viewer ids (the user id when logged in, else the session id)
    views      counter of joins
    watch_ms   counter of watched milliseconds: each heartbeat or leave adds the time since
               the session's previous report, capped at the window
    peak       the most concurrent viewers ever seen
    timeline   HASH minute -> the most concurrent viewers seen in that minute
    by_user    HASH user id -> watched milliseconds, for logged-in viewers (recommendations)
and per stream and client address, the anonymous sessions it counts (ZSET session -> last
seen): one address adds at most `per_address` anonymous viewers (and so views and uniques)
to a stream; its further sessions are answered, not counted. Logged-in viewers count by
account. Every step is one Lua script, so concurrent reports for a stream never interleave. The
rollup (shared_lib.analytics.rollup) moves all of it into PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared_lib import errors
from shared_lib.cache import Keys
from shared_lib.statuses import StreamStatus

if TYPE_CHECKING:
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

RECORD = """
local sessions, uniques, views, watch, peak, timeline, by_user, dirty, live, from_address =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local action, session, viewer = ARGV[1], ARGV[2], ARGV[3]
local now, window, min_interval = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local stream, minute, per_address = ARGV[7], ARGV[8], tonumber(ARGV[9])

if redis.call('SISMEMBER', live, stream) == 0 then return {-2, 0, 0} end

redis.call('ZREMRANGEBYSCORE', sessions, '-inf', '(' .. (now - window))
if per_address > 0 and string.sub(viewer, 1, 2) == 's:' then
  redis.call('ZREMRANGEBYSCORE', from_address, '-inf', '(' .. (now - window))
  if action == 'leave' then
    redis.call('ZREM', from_address, session)
  else
    if not redis.call('ZSCORE', from_address, session)
        and redis.call('ZCARD', from_address) >= per_address then
      return {2, redis.call('ZCARD', sessions), 0}
    end
    redis.call('ZADD', from_address, now, session)
    redis.call('PEXPIRE', from_address, window * 2000)
  end
end
local last = redis.call('ZSCORE', sessions, session)
-- Logged-in viewers' watch time per user feeds the recommendations.
local user = string.match(viewer, '^u:(.+)$')
local function add_watch(seconds)
  local ms = math.floor(math.min(seconds, window) * 1000)
  redis.call('INCRBY', watch, ms)
  if user then redis.call('HINCRBY', by_user, user, ms) end
end

if action == 'join' then
  if last then return {0, redis.call('ZCARD', sessions), 0} end
  redis.call('ZADD', sessions, now, session)
  redis.call('INCR', views)
  redis.call('PFADD', uniques, viewer)
  if user then redis.call('HINCRBY', by_user, user, 0) end
elseif action == 'heartbeat' then
  if last then
    local gap = now - tonumber(last)
    if gap < min_interval then
      return {-1, redis.call('ZCARD', sessions), math.ceil(min_interval - gap)}
    end
    add_watch(gap)
  else
    -- A session we lost (it went quiet past the window, or Redis restarted): it counts as
    -- watching again from now, without a second view.
    redis.call('PFADD', uniques, viewer)
  end
  redis.call('ZADD', sessions, now, session)
elseif action == 'leave' then
  if not last then return {0, redis.call('ZCARD', sessions), 0} end
  add_watch(now - tonumber(last))
  redis.call('ZREM', sessions, session)
end

local count = redis.call('ZCARD', sessions)
if count > tonumber(redis.call('GET', peak) or '0') then redis.call('SET', peak, count) end
if count > tonumber(redis.call('HGET', timeline, minute) or '0') then
  redis.call('HSET', timeline, minute, count)
end
redis.call('SADD', dirty, stream)
return {1, count, 0}
"""


@dataclass(frozen=True)
class Recorded:
    """accepted; or throttled (retry_after seconds); or not_live: the stream is not in the
    live set, and the caller must ask PostgreSQL why."""

    accepted: bool
    concurrent: int
    retry_after: int = 0
    not_live: bool = False


def stream_keys(stream_id: str) -> list[str]:
    return [Keys.viewer_sessions(stream_id), Keys.viewer_uniques(stream_id),
            Keys.viewer_views(stream_id), Keys.viewer_watch_ms(stream_id),
            Keys.viewer_peak(stream_id), Keys.viewer_timeline(stream_id),
            Keys.viewer_by_user(stream_id)]


def minute_of(now: float) -> int:
    """The epoch second at which `now`'s minute began."""
    return int(now // 60 * 60)


RECORD_SHA = hashlib.sha1(RECORD.encode()).hexdigest()


async def record(redis: AsyncRedis, *, stream_id: str, session_id: str, viewer_id: str,
                 action: str, now: float, window: int, min_interval: int, address: str = "",
                 per_address: int = 0) -> Recorded:
    """Apply one join, heartbeat or leave of a live stream, in one round trip. With
    `per_address`, an anonymous viewer's `address` counts at most that many sessions."""
    from redis.exceptions import NoScriptError

    keys = [*stream_keys(stream_id), Keys.ANALYTICS_DIRTY, Keys.LIVE_STREAMS,
            Keys.viewer_address(stream_id, address)]
    args: list[str | int] = [action, session_id, viewer_id, repr(now), window, min_interval,
                             stream_id, minute_of(now), per_address]
    try:
        reply = await redis.evalsha(RECORD_SHA, len(keys), *keys, *args)
    except NoScriptError:  # a Redis that restarted, or was flushed: load it again
        await redis.script_load(RECORD)
        reply = await redis.evalsha(RECORD_SHA, len(keys), *keys, *args)
    status, count, retry_after = reply
    return Recorded(accepted=status >= 0, concurrent=int(count), retry_after=int(retry_after),
                    not_live=status == -2)


def concurrent(redis: Redis, stream_ids: list[str], *, now: float, window: int) -> dict[str, int]:
    """Viewers seen within the window, per stream, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for stream_id in stream_ids:
        pipe.zcount(Keys.viewer_sessions(stream_id), f"({now - window}", "+inf")
    return {stream_id: int(n) for stream_id, n in zip(stream_ids, pipe.execute(), strict=False)}


async def report(stream_id: uuid.UUID, *, session_id: uuid.UUID, viewer_id: str, action: str,
                 address: str) -> int:
    """Record a player's join, heartbeat or leave; the stream's viewers now. A stream the
    live set lacks is asked of PostgreSQL (in a thread): 404 or 409, or the set had lost it
    and heals."""
    from shared_lib.cache import async_redis, redis_errors
    from shared_lib.config import get_settings

    settings = get_settings()

    def apply() -> Coroutine[Any, Any, Recorded]:
        return record(async_redis(), stream_id=str(stream_id), session_id=str(session_id),
                      viewer_id=viewer_id, action=action, now=time.time(),
                      window=settings.viewer_window_seconds,
                      min_interval=settings.heartbeat_min_interval_seconds, address=address,
                      per_address=settings.anonymous_viewers_per_address)

    with redis_errors():
        result = await apply()
        if result.not_live:
            await asyncio.to_thread(_require_live, stream_id)
            result = await apply()
    if not result.accepted:
        raise errors.Throttled("Heartbeats come every 30 seconds.", retry_after=result.retry_after)
    return result.concurrent


def _require_live(stream_id: uuid.UUID) -> None:
    """The slow path, when Redis's live set does not have the stream: ask PostgreSQL."""
    from shared_lib.db import UnitOfWork
    from shared_lib.streams import live_set

    with UnitOfWork() as uow:
        stream = uow.streams.get(stream_id)
    if stream is None:
        raise errors.NotFound("No such stream.")
    if stream.status != StreamStatus.LIVE:
        raise errors.Conflict(f"The stream is not live (it is {stream.status}).")
    live_set.mark(stream_id, live=True)
