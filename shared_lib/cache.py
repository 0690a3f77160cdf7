"""The Redis client and every key name the project uses, in one place.

Redis holds what is hot and may be lost. Timeouts are short so a dead Redis costs a
request half a second, not thirty; `redis_errors()` turns its failures into
DependencyUnavailable (503) for the writes that cannot do without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import redis

if TYPE_CHECKING:
    import redis.asyncio

from shared_lib.config import get_settings
from shared_lib.errors import DependencyUnavailable

PREFIX = "streamfn:"

REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)


class Keys:
    """Key names. Call these; never spell a key inline."""

    REVOCATIONS_LOADED = f"{PREFIX}revoked:loaded"
    LIVE_STREAMS = f"{PREFIX}streams:live"
    # Bumped when an owner changes what the stream directory shows (shared_lib/http/answers.py).
    STREAMS_VERSION = f"{PREFIX}streams:version"

    @staticmethod
    def revoked_access_token(jti: str) -> str:
        return f"{PREFIX}revoked:jti:{jti}"

    @staticmethod
    def revoked_session(family_id: str) -> str:
        return f"{PREFIX}revoked:sid:{family_id}"

    ANALYTICS_DIRTY = f"{PREFIX}analytics:dirty"

    @staticmethod
    def viewer_sessions(stream_id: str) -> str:
        return f"{PREFIX}viewers:{stream_id}:sessions"

    @staticmethod
    def viewer_address(stream_id: str, address: str) -> str:
        return f"{PREFIX}viewers:{stream_id}:address:{address}"

    @staticmethod
    def viewer_uniques(stream_id: str) -> str:
        return f"{PREFIX}viewers:{stream_id}:uniques"

    @staticmethod
    def viewer_views(stream_id: str) -> str:
        return f"{PREFIX}viewers:{stream_id}:views"

    @staticmethod
    def viewer_watch_ms(stream_id: str) -> str:
        return f"{PREFIX}viewers:{stream_id}:watch_ms"

    @staticmethod
    def viewer_peak(stream_id: str) -> str:
        return f"{PREFIX}viewers:{stream_id}:peak"

    @staticmethod
    def viewer_timeline(stream_id: str) -> str:
        return f"{PREFIX}viewers:{stream_id}:timeline"

    @staticmethod
    def viewer_by_user(stream_id: str) -> str:
        return f"{PREFIX}viewers:{stream_id}:by_user"

    @staticmethod
    def viewer_by_user_pending(stream_id: str) -> str:
        return f"{PREFIX}viewers:{stream_id}:by_user:pending"

    RECOMMENDATIONS_GENERATION = f"{PREFIX}recs:generation"

    @staticmethod
    def chat_room(channel_id: str) -> str:
        """A room's events (messages, deletions, bans, settings) as a Redis Stream."""
        return f"{PREFIX}chat:{channel_id}:events"

    @staticmethod
    def chat_slow_mode(channel_id: str, user_id: str) -> str:
        return f"{PREFIX}chat:{channel_id}:slow:{user_id}"

    @staticmethod
    def chat_rate(user_id: str) -> str:
        return f"{PREFIX}chat:rate:{user_id}"

    @staticmethod
    def recommendations(kind: str, generation: str, user_id: str) -> str:
        return f"{PREFIX}recs:{generation}:{kind}:{user_id}"

    @staticmethod
    def viewer_rollup_pending(stream_id: str) -> str:
        return f"{PREFIX}viewers:{stream_id}:pending"

    @staticmethod
    def viewer_rollup_sequence(stream_id: str) -> str:
        return f"{PREFIX}viewers:{stream_id}:batch"

    @staticmethod
    def login_failures_by_account(account: str) -> str:
        """`account`: the account's id, or the login name nobody has."""
        return f"{PREFIX}ratelimit:login:account:{account.lower()}"

    @staticmethod
    def login_failures_by_address(address: str) -> str:
        return f"{PREFIX}ratelimit:login:address:{address}"

    @staticmethod
    def registrations_by_address(address: str) -> str:
        return f"{PREFIX}ratelimit:register:address:{address}"


def _client(*, decode: bool) -> redis.Redis:
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    settings = get_settings()
    return redis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
        decode_responses=decode,
        # Two quick retries: a pooled connection that died with a restarted Redis is
        # replaced transparently; a Redis that is really down still fails within ~1.5 s.
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
    )


def command(client: redis.Redis, *args: str | int | float) -> Any:
    """One command's reply, as the server sent it (decoded as `client` decodes, with none of
    redis-py's reply callbacks), on this thread's own connection to `client`'s server: for
    the hot path of the threaded functions (every authenticated request's revocation check).
    redis-py's call wraps each command in timing, observability and failure closures, and
    its pool polls the socket and records metrics at every checkout and release: together a
    sixth of record-view's CPU when it was a threaded function. A failed command drops the
    connection and is tried again under the client's retry policy, as redis-py does (a
    Redis that restarted costs no request)."""
    def attempt() -> Any:
        connection = _connection(client)
        try:
            connection.send_command(*args)  # type: ignore[no-untyped-call] # redis-py's
            return connection.read_response()
        except redis.ResponseError:
            raise  # the server's answer: the connection is in step
        except BaseException:
            connection.disconnect()  # type: ignore[no-untyped-call] # half a reply read
            raise

    retry = client.get_retry()
    return retry.call_with_retry(attempt, lambda error: None) if retry else attempt()


def _connection(client: redis.Redis) -> redis.Connection:
    """This thread's connection for `client` (made on first use, and again after a fork:
    a child must not share its parent's socket). It connects when first sent a command."""
    threads = client.__dict__.get("_streamfn_threads") or client.__dict__.setdefault(
        "_streamfn_threads", threading.local())
    if getattr(threads, "pid", None) != os.getpid():
        pool = client.connection_pool
        threads.connection = pool.connection_class(**pool.connection_kwargs)
        threads.pid = os.getpid()
    return cast(redis.Connection, threads.connection)


@functools.cache
def get_redis() -> redis.Redis:
    return _client(decode=True)


@functools.cache
def get_redis_bytes() -> redis.Redis:
    """A client that leaves values as bytes: HyperLogLogs are binary strings."""
    return _client(decode=False)


def get_async_redis(*, block_seconds: float | None = None) -> redis.asyncio.Redis:
    """An asyncio client for the event loop it is first used on. Its connects fail fast;
    its reads may block for `block_seconds` (XREAD BLOCK: the chat-events function), or
    else time out as the threads' client's do."""
    import redis.asyncio
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    settings = get_settings()
    # Short commands are retried as the threads' client's are; a blocking read keeps
    # redis-py's own policy.
    retry = {} if block_seconds is not None else {
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.02), 2)}
    # A burst (a reconnect storm of listeners, a raid of viewers) waits its turn for a
    # connection rather than failing: each holds one for a single command.
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        settings.redis_url.get_secret_value(),
        max_connections=32,
        timeout=5,
        socket_timeout=settings.redis_timeout_seconds if block_seconds is None else block_seconds + 5,
        socket_connect_timeout=settings.redis_timeout_seconds,
        socket_keepalive=True,
        health_check_interval=30,
        decode_responses=True,
        **retry,
    )
    return redis.asyncio.Redis(connection_pool=pool)


_loop_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = \
    weakref.WeakKeyDictionary()


def async_redis() -> redis.asyncio.Redis:
    """The running event loop's client for short commands (an async function's revocation
    check, record-view's script): its connections belong to that loop."""
    loop = asyncio.get_running_loop()
    client = _loop_clients.get(loop)
    if client is None:
        client = _loop_clients[loop] = get_async_redis()
    return client


@contextlib.contextmanager
def redis_errors() -> Iterator[None]:
    """Answer 503 when Redis cannot be reached, for writes that need it."""
    try:
        yield
    except REDIS_ERRORS as exc:
        raise DependencyUnavailable("Redis is unavailable. Try again shortly.") from exc
