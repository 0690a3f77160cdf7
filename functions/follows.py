"""The follow graph: follow, unfollow, follow-status, list-followers, list-following."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared_lib.follows import services as follows
from shared_lib.follows.shapes import FollowPage, FollowState
from shared_lib.http import PageQuery, http_function

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork
    from shared_lib.security import AccessClaims


@http_function("PUT /api/users/{username}/follow", auth="user", response=FollowState)
def follow(username: str, user: AccessClaims, uow: UnitOfWork) -> FollowState:
    """Follow a channel. Following it again changes nothing."""
    return follows.set_following(uow, follower_id=user.user_id, username=username, following=True)


@http_function("GET /api/users/{username}/follow", auth="user", response=FollowState)
def follow_status(username: str, account: User, uow: UnitOfWork) -> FollowState:
    """Whether you follow a channel (what its follow button shows)."""
    return follows.state(uow, follower_id=account.id, username=username)


@http_function("DELETE /api/users/{username}/follow", auth="user", response=FollowState)
def unfollow(username: str, user: AccessClaims, uow: UnitOfWork) -> FollowState:
    """Stop following a channel. Unfollowing it again changes nothing."""
    return follows.set_following(uow, follower_id=user.user_id, username=username, following=False)


@http_function("GET /api/users/{username}/followers", query=PageQuery, response=FollowPage)
def list_followers(username: str, query: PageQuery, uow: UnitOfWork) -> FollowPage:
    """Who follows this user, newest first."""
    return follows.edges(uow, username, query, "followers")


@http_function("GET /api/users/{username}/following", query=PageQuery, response=FollowPage)
def list_following(username: str, query: PageQuery, uow: UnitOfWork) -> FollowPage:
    """Whom this user follows, newest first."""
    return follows.edges(uow, username, query, "following")
