"""Moving viewer activity from Redis into PostgreSQL, exactly once.

Counters (views, watched milliseconds) move as numbered batches: a batch is taken out of
Redis into a `pending` hash under the number PostgreSQL expects next, added to the stream's
totals in a transaction that also records the number, and deleted from Redis after the
commit (only if it is still that batch). A rollup that dies anywhere leaves either the
pending batch (applied next time) or nothing; a pending batch PostgreSQL already has is
dropped and the counts that came since are taken, so a rollup landing between another's
commit and its cleanup (the final one, say) misses nothing: no count is lost or doubled. A
Redis restart loses at most what was not yet taken.

Uniques are a HyperLogLog: PostgreSQL keeps a copy, merged back into Redis at every rollup,
so uniques survive a Redis restart. Peak and per-minute maxima only ever rise.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared_lib import errors
from shared_lib.analytics.viewers import minute_of
from shared_lib.cache import Keys
from shared_lib.statuses import StreamStatus

if TYPE_CHECKING:
    from redis import Redis

    from shared_lib.db import UnitOfWork

TAKE = """
local views, watch, pending, by_user, by_user_pending = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local held = redis.call('HGET', pending, 'batch')
if held and tonumber(held) < tonumber(ARGV[1]) then
  -- Applied already (its rollup committed and has not cleaned up yet, or died before):
  -- take what came since instead of leaving it behind.
  redis.call('DEL', pending, by_user_pending)
end
if redis.call('EXISTS', pending) == 0 then
  local v = redis.call('GETDEL', views) or '0'
  local w = redis.call('GETDEL', watch) or '0'
  redis.call('HSET', pending, 'batch', ARGV[1], 'views', v, 'watch_ms', w)
  redis.call('DEL', by_user_pending)
  if redis.call('EXISTS', by_user) == 1 then redis.call('RENAME', by_user, by_user_pending) end
end
return redis.call('HMGET', pending, 'batch', 'views', 'watch_ms')
"""

FORGET = """
if redis.call('HGET', KEYS[1], 'batch') == ARGV[1] then redis.call('DEL', KEYS[1], KEYS[2]) end
return 0
"""

MERGE_UNIQUES = """
local uniques, scratch = KEYS[1], KEYS[2]
if ARGV[1] ~= '' then
  redis.call('SET', scratch, ARGV[1])
  redis.call('PFMERGE', uniques, uniques, scratch)
  redis.call('DEL', scratch)
end
if redis.call('EXISTS', uniques) == 0 then return {false, 0} end
return {redis.call('GET', uniques), redis.call('PFCOUNT', uniques)}
"""


def rollup(uow: UnitOfWork, redis: Redis, stream_id: uuid.UUID, *, now: float, window: int,
           final: bool = False) -> None:
    """Roll one stream's activity up. `redis` must return bytes (the HyperLogLog is binary).
    With `final`, the stream's live state is cleared from Redis afterwards."""
    sid = str(stream_id)
    stats = uow.analytics.stats_for_update(stream_id)
    batch, views, watch_ms = redis.eval(
        TAKE, 5, Keys.viewer_views(sid), Keys.viewer_watch_ms(sid),
        Keys.viewer_rollup_pending(sid), Keys.viewer_by_user(sid),
        Keys.viewer_by_user_pending(sid), stats.last_batch + 1)
    if int(batch) > stats.last_batch:
        stats.total_views += int(views)
        stats.watch_time_ms += int(watch_ms)
        stats.last_batch = int(batch)
        watched = {}
        for key, value in redis.hgetall(Keys.viewer_by_user_pending(sid)).items():
            try:
                watched[uuid.UUID(key.decode() if isinstance(key, bytes) else key)] = int(value)
            except ValueError:
                continue
        stream = uow.streams.get(stream_id)
        if watched and stream is not None:
            uow.analytics.add_channel_views(stream.user_id, watched)
    hll, count = redis.eval(MERGE_UNIQUES, 2, Keys.viewer_uniques(sid),
                            Keys.viewer_uniques(sid) + ":scratch", stats.uniques_hll or b"")
    if hll:
        stats.uniques_hll, stats.unique_viewers = hll, max(int(count), stats.unique_viewers)
    stats.peak_viewers = max(stats.peak_viewers, int(redis.get(Keys.viewer_peak(sid)) or 0))
    timeline = {int(k): int(v) for k, v in redis.hgetall(Keys.viewer_timeline(sid)).items()}
    uow.analytics.raise_samples(stream_id, {
        datetime.fromtimestamp(minute, tz=UTC): viewers
        for minute, viewers in timeline.items()})
    current = 0 if final else redis.zcount(Keys.viewer_sessions(sid), f"({now - window}", "+inf")
    stream = uow.streams.get(stream_id)
    if stream is not None and stream.status == StreamStatus.LIVE:
        stream.viewer_count = current
    if final and stats.finalized_at is None:
        stats.finalized_at = datetime.now(UTC)
    stats.updated_at = datetime.now(UTC)
    uow.after_commit(lambda: _forget(redis, sid, batch, timeline, now=now, final=final))


def _forget(redis: Redis, sid: str, batch: Any, timeline: dict[int, int], *, now: float,
            final: bool) -> None:
    """After the commit: drop from Redis what PostgreSQL now holds."""
    # Only the batch this rollup applied: another may have taken a newer one meanwhile.
    redis.eval(FORGET, 2, Keys.viewer_rollup_pending(sid), Keys.viewer_by_user_pending(sid), batch)
    pipe = redis.pipeline(transaction=True)
    done = [str(minute).encode() for minute in timeline if minute < minute_of(now)]
    if done:
        pipe.hdel(Keys.viewer_timeline(sid), *done)
    if final:
        pipe.delete(Keys.viewer_sessions(sid), Keys.viewer_peak(sid), Keys.viewer_timeline(sid),
                    Keys.viewer_uniques(sid))
        pipe.srem(Keys.ANALYTICS_DIRTY, sid)
    pipe.execute()


def streams_to_roll_up(uow: UnitOfWork, redis: Redis) -> list[uuid.UUID]:
    """Every live stream (its viewer count must follow viewers who left silently) and every
    stream with activity not yet rolled up."""
    ids = set(uow.streams.live_ids())
    for member in redis.smembers(Keys.ANALYTICS_DIRTY):
        try:
            ids.add(uuid.UUID(member.decode() if isinstance(member, bytes) else member))
        except ValueError:
            redis.srem(Keys.ANALYTICS_DIRTY, member)
    return sorted(ids, key=str)


def roll_up_all(*, now: float) -> None:
    """The minute rollup: every stream that needs it, each in a transaction of its own (one
    stream's failure leaves the others rolled up)."""
    from shared_lib.cache import get_redis_bytes
    from shared_lib.config import get_settings
    from shared_lib.db import UnitOfWork

    redis, window = get_redis_bytes(), get_settings().viewer_window_seconds
    with UnitOfWork() as uow:
        stream_ids = streams_to_roll_up(uow, redis)
    for stream_id in stream_ids:
        with UnitOfWork() as uow:
            if uow.streams.get(stream_id) is None:
                redis.srem(Keys.ANALYTICS_DIRTY, str(stream_id))
                continue
            rollup(uow, redis, stream_id, now=now, window=window)
            uow.commit()


def finalize(uow: UnitOfWork, stream_id: uuid.UUID | None, publish_id: str | None, *,
             now: float) -> None:
    """A stream ended: its final rollup (peak, uniques, views, watch time), once. 409 while
    the stream still shows live, so the broker retries once its end has been applied."""
    from shared_lib.cache import get_redis_bytes
    from shared_lib.config import get_settings

    stream = uow.streams.get(stream_id) if stream_id else None
    stats = uow.analytics.stats(stream_id) if stream_id and stream else None
    if stream is None or stream_id is None or (stats and stats.finalized_at):
        return
    if stream.status == StreamStatus.LIVE:
        if publish_id and stream.publish_id and publish_id != stream.publish_id:
            return  # the end of a publish a reconnect replaced: the broadcast goes on
        raise errors.Conflict("The stream has not ended yet.")
    rollup(uow, get_redis_bytes(), stream_id, now=now,
           window=get_settings().viewer_window_seconds, final=True)
