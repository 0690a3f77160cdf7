"""The follow graph as clients see it: a follow button's state, and pages of followers."""

from __future__ import annotations

from datetime import datetime

from shared_lib.accounts.shapes import PublicUser
from shared_lib.http.paging import Page
from shared_lib.http.requests import Shape


class FollowState(Shape):
    following: bool
    user: PublicUser


class FollowEdge(Shape):
    user: PublicUser
    followed_at: datetime


class FollowPage(Page[FollowEdge]):
    pass
