"""Recommendations as a user gets them: the last recompute's candidates (cached in Redis per
recompute generation), ranked at read time with what is live now and whom you follow now."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Literal, TypeVar

from shared_lib.accounts.shapes import PublicUser
from shared_lib.http.paging import decode_cursor, encode_cursor
from shared_lib.recommendations.scores import SCORES, TOP_K
from shared_lib.recommendations.shapes import (
    StreamRecommendation,
    StreamRecommendations,
    UserRecommendation,
    UserRecommendations,
)
from shared_lib.streams.shapes import views

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork
    from shared_lib.http.paging import PageQuery

T = TypeVar("T")
Kind = Literal["streams", "users"]
STORED: dict[str, str] = {
    kind: f"SELECT channel_id, score, reason, detail FROM recommended_{kind} "
          "WHERE user_id = :u ORDER BY score DESC"
    for kind in ("streams", "users")
}
LIVE_POOL = 200  # the most watched live streams a personal ranking draws from

CACHE_SECONDS = 15 * 60


def candidates(uow: UnitOfWork, kind: Kind,
               user_id: uuid.UUID) -> list[tuple[str, float, str, str | None]]:
    """(channel id, score, reason, detail) of the last recompute for `user_id`: from Redis,
    else from PostgreSQL (and then cached). `kind` is "streams" or "users"."""
    from shared_lib.cache import REDIS_ERRORS, Keys, get_redis
    try:
        redis = get_redis()
        generation = str(redis.get(Keys.RECOMMENDATIONS_GENERATION) or "0")
        key = Keys.recommendations(kind, generation, str(user_id))
        cached = redis.get(key)
        if cached is not None:
            return [tuple(row) for row in json.loads(cached)]
    except REDIS_ERRORS:
        redis = None
    from sqlalchemy import text  # here: the function's other answers need no SQLAlchemy

    rows = [(str(c), float(s), r, d)
            for c, s, r, d in uow.session.execute(text(STORED[kind]), {"u": user_id})]
    if redis is not None:
        try:
            redis.set(key, json.dumps(rows), ex=CACHE_SECONDS)
        except REDIS_ERRORS:
            pass
    return rows


def new_generation() -> None:
    """After a recompute: readers stop using what they cached of the previous one."""
    from shared_lib.cache import REDIS_ERRORS, Keys, get_redis

    try:
        get_redis().incr(Keys.RECOMMENDATIONS_GENERATION)
    except REDIS_ERRORS:
        pass  # cached entries expire within CACHE_SECONDS


def sentence(reason: str, detail: str | None, channel_name: str) -> str:
    """The reason, as a person reads it."""
    from shared_lib.streams.categories import category_name

    if reason == "follow":
        return f"You follow {channel_name}"
    if reason == "coview":
        return f"Viewers like you watched {channel_name}"
    if reason == "fof":
        count = int(detail or 0)
        return f"Followed by {count} {'person' if count == 1 else 'people'} you follow"
    if reason in {"category", "popular"} and category_name(detail):
        return f"Popular in {category_name(detail)}"
    return "Popular on streamfn right now"


def _offset_page(items: list[T], query: PageQuery) -> tuple[list[T], str | None]:
    """An offset page of a ranking computed per request (keyset needs a stable order)."""
    start = (decode_cursor(query.cursor, int) or (0,))[0]
    end = start + query.limit
    return items[start:end], encode_cursor(end) if end < len(items) else None


def streams_for(uow: UnitOfWork, account: User | None, query: PageQuery) -> StreamRecommendations:
    """Live streams, most relevant first: channels `account` follows (live now, whatever the
    last recompute knew), then its recommendations, then what is popular."""
    rows = uow.streams.list_live(category=None, q=None, after=None, limit=LIVE_POOL)
    followed: set[uuid.UUID] = set()
    scored: dict[str, tuple[float, str, str | None]] = {}
    if account is not None:
        followed = uow.follows.followed_among(account.id, [row[0].user_id for row in rows])
        scored = {c: (s, r, d) for c, s, r, d in candidates(uow, "streams", account.id)}
    ranked = []
    for (_, metadata, owner, _), view in zip(rows, views(rows), strict=True):
        if account is not None and owner.id == account.id:
            continue
        if owner.id in followed:
            score, reason, detail = SCORES["follow"], "follow", None
        elif str(owner.id) in scored:
            score, reason, detail = scored[str(owner.id)]
        else:
            score, reason, detail = view.viewer_count / (1 + view.viewer_count), "popular", \
                metadata.category
        ranked.append(StreamRecommendation(
            stream=view, score=round(score + view.viewer_count * 1e-6, 6),
            reason=sentence(reason, detail, owner.display_name)))
    ranked.sort(key=lambda item: (-item.score, str(item.stream.id)))
    items, cursor = _offset_page(ranked, query)
    return StreamRecommendations(items=items, next_cursor=cursor)


def users_for(uow: UnitOfWork, account: User, query: PageQuery) -> UserRecommendations:
    """Channels `account` might follow; a new account gets the most followed channels."""
    rows = candidates(uow, "users", account.id)
    if not rows:  # nothing known about you yet: what everybody follows
        rows = [(str(u.id), SCORES["popular"], "popular", None)
                for u in uow.users.most_followed(limit=3 * TOP_K)]
    ids = [uuid.UUID(c) for c, *_ in rows]
    already = uow.follows.followed_among(account.id, ids)
    users = {u.id: u for u in uow.users.get_many(ids)}
    live = uow.users.live_among(ids)
    ranked = [
        UserRecommendation(user=PublicUser.of(users[i], is_live=i in live), score=round(score, 6),
                           reason=sentence(reason, detail, users[i].display_name))
        for i, (_, score, reason, detail) in zip(ids, rows, strict=True)
        if i in users and i not in already and i != account.id
    ]
    items, cursor = _offset_page(ranked, query)
    return UserRecommendations(items=items, next_cursor=cursor)
