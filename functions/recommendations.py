"""Recommendations: recommended-streams (anyone; personal with a token), recommended-users
(users), and the schedule that recomputes them."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from shared_lib.catalog import Scaling
from shared_lib.http import http_function, scheduled_function
from shared_lib.pagination import PageQuery
from shared_lib.schemas import Page, PublicUser, Stream
from shared_lib.security import AccessClaims

LIVE_POOL = 200  # the most watched live streams a personal ranking draws from


class StreamRecommendation(BaseModel):
    stream: Stream
    score: float
    reason: str


class UserRecommendation(BaseModel):
    user: PublicUser
    score: float
    reason: str


class StreamRecommendations(Page[StreamRecommendation]):
    pass


class UserRecommendations(Page[UserRecommendation]):
    pass


def _page(items: list, query: PageQuery) -> tuple[list, str | None]:
    """An offset page of a ranking computed per request (keyset needs a stable order)."""
    from shared_lib.pagination import decode_cursor, encode_cursor

    start = (decode_cursor(query.cursor, int) or (0,))[0]
    end = start + query.limit
    return items[start:end], encode_cursor(end) if end < len(items) else None


@http_function("GET /api/recommendations/streams", query=PageQuery, auth="optional",
               response=StreamRecommendations)
def recommended_streams(query: PageQuery, user: AccessClaims | None) -> StreamRecommendations:
    """Live streams for you, most relevant first: channels you follow (live now, whatever the
    last recompute knew), then your recommendations, then what is popular."""
    from shared_lib import recommendations as recs
    from shared_lib.db import UnitOfWork
    from shared_lib.stream_views import views as stream_views

    with UnitOfWork() as uow:
        rows = uow.streams.list_live(category=None, q=None, after=None, limit=LIVE_POOL)
        followed, scored = set(), {}
        if user is not None:
            channels = [row[0].user_id for row in rows]
            followed = uow.relationships.followed_among(user.user_id, channels)
            scored = {c: (s, r, d) for c, s, r, d in recs.candidates(uow, "streams", user.user_id)}
    views = stream_views(rows)
    ranked = []
    for (_, metadata, owner, _), view in zip(rows, views, strict=False):
        if user is not None and owner.id == user.user_id:
            continue
        if owner.id in followed:
            score, reason, detail = recs.SCORES["follow"], "follow", None
        elif str(owner.id) in scored:
            score, reason, detail = scored[str(owner.id)]
        else:
            score, reason, detail = view.viewer_count / (1 + view.viewer_count), "popular", metadata.category
        ranked.append(StreamRecommendation(
            stream=view, score=round(score + view.viewer_count * 1e-6, 6),
            reason=recs.sentence(reason, detail, owner.display_name)))
    ranked.sort(key=lambda item: (-item.score, str(item.stream.id)))
    items, cursor = _page(ranked, query)
    return StreamRecommendations(items=items, next_cursor=cursor)


@http_function("GET /api/recommendations/users", query=PageQuery, auth="user",
               response=UserRecommendations)
def recommended_users(query: PageQuery, user: AccessClaims) -> UserRecommendations:
    """Channels you might follow: followed by people you follow, or popular in what you watch.
    A new account gets the most followed channels."""
    from shared_lib import recommendations as recs
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        rows = recs.candidates(uow, "users", user.user_id)
        ids = [uuid.UUID(c) for c, *_ in rows]
        if not ids:  # nothing known about you yet: what everybody follows
            popular = uow.users.most_followed(limit=3 * recs.TOP_K)
            rows = [(str(u.id), recs.SCORES["popular"], "popular", None) for u in popular]
            ids = [u.id for u in popular]
        already = uow.relationships.followed_among(user.user_id, ids)
        users = {u.id: u for u in uow.users.get_many(ids)}
        live = uow.users.live_among(ids)
    ranked = [
        UserRecommendation(user=PublicUser.of(users[uuid.UUID(c)], is_live=uuid.UUID(c) in live),
                           score=round(score, 6),
                           reason=recs.sentence(reason, detail, users[uuid.UUID(c)].display_name))
        for c, score, reason, detail in rows
        if uuid.UUID(c) in users and uuid.UUID(c) not in already and uuid.UUID(c) != user.user_id
    ]
    items, cursor = _page(ranked, query)
    return UserRecommendations(items=items, next_cursor=cursor)


@scheduled_function("*/10 * * * *", scaling=Scaling(max_scale=1, concurrency=1,
                                                     timeout_seconds=600, memory="512Mi"))
def recompute_recommendations() -> None:
    """Recompute every active user's recommendations in set-based SQL, then swap them in."""
    from shared_lib import recommendations as recs
    from shared_lib.db import batch_engine

    result = recs.recompute(batch_engine())
    if not result.skipped:
        recs.new_generation()
