"""The hot paths' Redis commands on the real Redis (shared_lib.cache.command for threads,
the event loop's client for record-view): the server's reply, and a connection the server
dropped or a script it forgot cost no request."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis

from shared_lib.cache import command, get_redis


def test_a_command_answers_what_the_server_sent_decoded():
    client = get_redis()
    key = f"streamfn:test:{uuid.uuid4().hex}"
    client.set(key, "seen")
    assert command(client, "MGET", key, key + ":none") == ["seen", None]
    with pytest.raises(redis.ResponseError):
        command(client, "INCR", key)  # not a number: the server's error, as redis-py raises it
    assert command(client, "GET", key) == "seen", "the connection is still in step"


def test_a_connection_the_server_dropped_is_replaced_without_an_error():
    client = get_redis()
    command(client, "PING")
    killed = client.client_kill_filter(_type="normal", skipme=False)
    assert killed >= 1
    assert command(client, "PING") == "PONG"


def test_views_still_count_after_redis_forgot_its_scripts():
    from shared_lib.analytics import viewers
    from shared_lib.cache import Keys, async_redis

    client, stream = get_redis(), str(uuid.uuid4())
    client.sadd(Keys.LIVE_STREAMS, stream)
    try:
        async def join() -> viewers.Recorded:
            return await viewers.record(async_redis(), stream_id=stream,
                                        session_id=str(uuid.uuid4()), viewer_id=f"s:{uuid.uuid4()}",
                                        action="join", now=time.time(), window=60, min_interval=20)

        async def join_flush_join() -> list[int]:
            first = await join()
            client.script_flush()
            return [first.concurrent, (await join()).concurrent]

        assert asyncio.run(join_flush_join()) == [1, 2]
        assert client.get(Keys.viewer_views(stream)) == "2"
    finally:
        client.srem(Keys.LIVE_STREAMS, stream)
        client.delete(*viewers.stream_keys(stream))
