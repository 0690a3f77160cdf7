"""The follow graph as clients see it: a follow button's state, and pages of followers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from shared_lib.accounts.shapes import PublicUser
from shared_lib.http.paging import Page


class FollowState(BaseModel):
    following: bool
    user: PublicUser


class FollowEdge(BaseModel):
    user: PublicUser
    followed_at: datetime


class FollowPage(Page[FollowEdge]):
    pass
