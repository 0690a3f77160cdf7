"""Slow mode and the per-user rate limit, in Redis, in one atomic step: a message is let
through, or refused with how long to wait. The rate limit holds in every room and mode
(RATE_LIMIT messages per RATE_WINDOW_SECONDS per user); slow mode is one message per
`slow_seconds` per user and room, and does not bind the channel's staff."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from shared_lib import errors
from shared_lib.cache import Keys

if TYPE_CHECKING:
    from redis import Redis
    from redis.commands.core import Script

RATE_LIMIT = 20
RATE_WINDOW_SECONDS = 30

ADMIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then return {1, redis.call('TTL', KEYS[1])} end
local slow = tonumber(ARGV[3])
if slow > 0 and not redis.call('SET', KEYS[2], '1', 'NX', 'EX', slow) then
  return {2, redis.call('TTL', KEYS[2])}
end
return {0, 0}
"""


@functools.cache
def _script(redis: Redis) -> Script:
    return redis.register_script(ADMIT)


def admit(redis: Redis, *, channel_id: str, user_id: str, slow_seconds: int) -> None:
    """Let one message through, or Throttled with Retry-After."""
    refused, wait = _script(redis)(keys=[Keys.chat_rate(user_id),
                                         Keys.chat_slow_mode(channel_id, user_id)],
                                   args=[RATE_LIMIT, RATE_WINDOW_SECONDS, slow_seconds])
    wait = max(int(wait), 1)
    if refused == 1:
        raise errors.Throttled(f"You are sending messages too fast: wait {wait} s.",
                               retry_after=wait, details=[{"reason": "rate_limit", "wait": wait}])
    if refused == 2:
        raise errors.Throttled(f"Slow mode is on: you can send another message in {wait} s.",
                               retry_after=wait, details=[{"reason": "slow_mode", "wait": wait}])
