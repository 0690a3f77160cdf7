"""Recommendations: recommended-streams (anyone; personal with a token), recommended-users
(users), and the schedule that recomputes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared_lib.catalog import Scaling
from shared_lib.http import PageQuery, http_function, scheduled_function
from shared_lib.recommendations import ranking
from shared_lib.recommendations.shapes import StreamRecommendations, UserRecommendations

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork

# Its model of 1,000,000 users peaks at 1.2 GiB (bench/recommendations.py): 2 GiB for a pod.
RECOMPUTE = Scaling(max_scale=1, concurrency=1, timeout_seconds=600, cpu="1", memory="2Gi",
                    memory_limit="2Gi")


@http_function("GET /api/recommendations/streams", query=PageQuery, auth="optional",
               response=StreamRecommendations)
def recommended_streams(query: PageQuery, account: User | None,
                        uow: UnitOfWork) -> StreamRecommendations:
    """Live streams for you, most relevant first: channels you follow (live now, whatever the
    last recompute knew), then your recommendations, then what is popular."""
    return ranking.streams_for(uow, account, query)


@http_function("GET /api/recommendations/users", query=PageQuery, auth="user",
               response=UserRecommendations)
def recommended_users(query: PageQuery, account: User, uow: UnitOfWork) -> UserRecommendations:
    """Channels you might follow: followed by people you follow, or popular in what you watch.
    A new account gets the most followed channels."""
    return ranking.users_for(uow, account, query)


@scheduled_function("*/10 * * * *", scaling=RECOMPUTE)
def recompute_recommendations() -> None:
    """Recompute every active user's recommendations in set-based SQL, then swap them in."""
    from shared_lib.recommendations import recompute  # SQLAlchemy Core: only this one needs it

    recompute.run()
