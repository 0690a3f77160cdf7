"""Access tokens revoked before their expiry: one token (logout) or a whole session
(a refresh family revoked by logout or by the reuse of a spent refresh token).

The check runs on every authenticated request, so it asks Redis first; PostgreSQL holds
the truth, and answers when Redis is down. A marker key says Redis holds every live
revocation; when Redis restarts or is flushed the marker is gone, so the next check asks
PostgreSQL and copies the live revocations back into Redis before trusting it again.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from shared_lib.cache import REDIS_ERRORS, Keys, command, get_redis
from shared_lib.security import AccessClaims


def is_revoked(claims: AccessClaims) -> bool:
    try:
        jti, session, loaded = command(get_redis(), "MGET", *_keys(claims))
    except REDIS_ERRORS:
        return _is_revoked_in_database(claims)
    if loaded is None:
        return _is_revoked_reloading(claims)
    return bool(jti or session)


async def is_revoked_async(claims: AccessClaims) -> bool:
    """`is_revoked` on the event loop; what PostgreSQL answers, it answers in a thread."""
    import asyncio

    from shared_lib.cache import async_redis

    try:
        jti, session, loaded = await async_redis().mget(_keys(claims))
    except REDIS_ERRORS:
        return await asyncio.to_thread(_is_revoked_in_database, claims)
    if loaded is None:
        return await asyncio.to_thread(_is_revoked_reloading, claims)
    return bool(jti or session)


def _keys(claims: AccessClaims) -> list[str]:
    return [Keys.revoked_access_token(claims.jti), Keys.revoked_session(claims.session_id),
            Keys.REVOCATIONS_LOADED]


def _is_revoked_reloading(claims: AccessClaims) -> bool:
    """Redis lost its revocations (restarted, flushed): PostgreSQL answers, and Redis is
    given them back."""
    revoked = _is_revoked_in_database(claims)
    _reload_into_redis()
    return revoked


def _reload_into_redis() -> None:
    from shared_lib.config import get_settings
    from shared_lib.db import UnitOfWork

    window = get_settings().access_token_ttl_seconds
    with UnitOfWork() as uow:
        tokens = uow.revoked_tokens.live()
        sessions = uow.refresh_tokens.revoked_families_since(seconds=window)
    try:
        pipe = get_redis().pipeline()
        for jti, expires_at in tokens:
            pipe.set(Keys.revoked_access_token(jti), "1", ex=max(1, _seconds_until(expires_at)))
        for family_id in sessions:
            pipe.set(Keys.revoked_session(str(family_id)), "1", ex=window)
        pipe.set(Keys.REVOCATIONS_LOADED, "1")
        pipe.execute()
    except REDIS_ERRORS:
        pass


def _seconds_until(moment: datetime) -> int:
    return int((moment - datetime.now(UTC)).total_seconds())


def _is_revoked_in_database(claims: AccessClaims) -> bool:
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        return uow.revoked_tokens.is_revoked(claims.jti) or uow.refresh_tokens.family_revoked(
            uuid.UUID(claims.session_id)
        )


def remember_revocations(*, jti: str | None, session_id: str | None, ttl_seconds: int) -> None:
    """Put revocations already committed to PostgreSQL into Redis, for the hot check.
    Best effort: if Redis is down, the PostgreSQL fallback still refuses the token."""
    if ttl_seconds <= 0:
        return
    try:
        pipe = get_redis().pipeline()
        if jti:
            pipe.set(Keys.revoked_access_token(jti), "1", ex=ttl_seconds)
        if session_id:
            pipe.set(Keys.revoked_session(session_id), "1", ex=ttl_seconds)
        pipe.execute()
    except REDIS_ERRORS:
        pass


def seconds_left(expires_at: int) -> int:
    return max(0, int(expires_at - time.time()))


def expiry_datetime(expires_at: int) -> datetime:
    return datetime.fromtimestamp(expires_at, tz=UTC)
