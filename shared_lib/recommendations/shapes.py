"""Recommendations as clients see them: a stream or a channel, its score, and why."""

from __future__ import annotations

from shared_lib.accounts.shapes import PublicUser
from shared_lib.http.paging import Page
from shared_lib.http.requests import Shape
from shared_lib.streams.shapes import Stream


class StreamRecommendation(Shape):
    stream: Stream
    score: float
    reason: str


class UserRecommendation(Shape):
    user: PublicUser
    score: float
    reason: str


class StreamRecommendations(Page[StreamRecommendation]):
    pass


class UserRecommendations(Page[UserRecommendation]):
    pass
