"""Profiles and the follow graph: get-profile, update-profile, follow, unfollow,
list-followers, list-following, search-users."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field

from shared_lib.http import http_function
from shared_lib.pagination import PageQuery
from shared_lib.schemas import Me, Page, PublicUser, Request
from shared_lib.security import AccessClaims


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError("avatar URLs are absolute http(s) URLs")
    return value


class ProfileUpdate(Request):
    """Only the fields sent change; display_name and bio cannot be null (defaults are not
    validated, sent values are)."""

    display_name: str = Field(default=None, min_length=1, max_length=50)
    bio: str = Field(default=None, max_length=500)
    avatar_url: Annotated[str | None, AfterValidator(_http_url)] = Field(default=None,
                                                                         max_length=2000)
    recording_enabled: bool = Field(default=None)

class SearchQuery(PageQuery):
    q: str = Field(min_length=1, max_length=50)


class FollowState(BaseModel):
    following: bool
    user: PublicUser

    @classmethod
    def of(cls, uow, target, *, following: bool) -> FollowState:
        return cls(following=following,
                   user=PublicUser.of(target, is_live=uow.users.is_live(target.id)))


class FollowEdge(BaseModel):
    user: PublicUser
    followed_at: datetime


class FollowPage(Page[FollowEdge]):
    pass


class UserPage(Page[PublicUser]):
    pass


def _profile(username: str) -> PublicUser:
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import UserNotFound

    with UnitOfWork() as uow:
        user = uow.users.get_by_username(username)
        if user is None:
            raise UserNotFound()
        return PublicUser.of(user, is_live=uow.users.is_live(user.id))


@http_function("GET /api/users/{username}", response=PublicUser)
def get_profile(username: str) -> PublicUser:
    """A user's public profile."""
    return _profile(username)


@http_function("PATCH /api/users/me", body=ProfileUpdate, auth="user", response=Me)
def update_profile(body: ProfileUpdate, user: AccessClaims) -> Me:
    """Change your display name, bio or avatar URL (null clears the avatar), or turn the
    recording of your broadcasts off or on."""
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import InvalidToken

    with UnitOfWork() as uow:
        account = uow.users.get(user.user_id)
        if account is None:
            raise InvalidToken()
        for field in body.model_fields_set:
            setattr(account, field, getattr(body, field))
        uow.commit()
        return Me.of(account, is_live=uow.users.is_live(account.id))


def _set_following(username: str, user: AccessClaims, following: bool) -> FollowState:
    from shared_lib.db import UnitOfWork
    from shared_lib.follows import set_following

    with UnitOfWork() as uow:
        target = set_following(uow, follower_id=user.user_id, username=username,
                               following=following)
        return FollowState.of(uow, target, following=following)


@http_function("PUT /api/users/{username}/follow", auth="user", response=FollowState)
def follow(username: str, user: AccessClaims) -> FollowState:
    """Follow a channel. Following it again changes nothing."""
    return _set_following(username, user, True)


@http_function("GET /api/users/{username}/follow", auth="user", response=FollowState)
def follow_status(username: str, user: AccessClaims) -> FollowState:
    """Whether you follow a channel (what its follow button shows)."""
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import UserNotFound

    with UnitOfWork() as uow:
        target = uow.users.get_by_username(username)
        if target is None:
            raise UserNotFound()
        return FollowState.of(
            uow, target, following=uow.relationships.is_following(user.user_id, target.id))


@http_function("DELETE /api/users/{username}/follow", auth="user", response=FollowState)
def unfollow(username: str, user: AccessClaims) -> FollowState:
    """Stop following a channel. Unfollowing it again changes nothing."""
    return _set_following(username, user, False)


def _edges(username: str, query: PageQuery, side: str) -> FollowPage:
    import uuid

    from shared_lib.db import UnitOfWork
    from shared_lib.errors import UserNotFound
    from shared_lib.pagination import decode_cursor, page_of

    after = decode_cursor(query.cursor, datetime.fromisoformat, uuid.UUID)
    with UnitOfWork() as uow:
        owner = uow.users.get_by_username(username)
        if owner is None:
            raise UserNotFound()
        edges = getattr(uow.relationships, side)(owner.id, after=after, limit=query.limit + 1)
        edges, cursor = page_of(edges, query.limit, lambda e: (e[1].isoformat(), e[0].id))
        live = uow.users.live_among([user.id for user, _ in edges])
    items = [FollowEdge(user=PublicUser.of(u, is_live=u.id in live), followed_at=at)
             for u, at in edges]
    return FollowPage(items=items, next_cursor=cursor)


@http_function("GET /api/users/{username}/followers", query=PageQuery, response=FollowPage)
def list_followers(username: str, query: PageQuery) -> FollowPage:
    """Who follows this user, newest first."""
    return _edges(username, query, "followers")


@http_function("GET /api/users/{username}/following", query=PageQuery, response=FollowPage)
def list_following(username: str, query: PageQuery) -> FollowPage:
    """Whom this user follows, newest first."""
    return _edges(username, query, "following")


@http_function("GET /api/users", query=SearchQuery, response=UserPage)
def search_users(query: SearchQuery) -> UserPage:
    """Users whose username or display name starts with `q`, most followed first."""
    import uuid

    from shared_lib.db import UnitOfWork
    from shared_lib.pagination import decode_cursor, page_of

    after = decode_cursor(query.cursor, int, uuid.UUID)
    with UnitOfWork() as uow:
        users = uow.users.search(query.q, after=after, limit=query.limit + 1)
        users, cursor = page_of(users, query.limit, lambda u: (u.followers_count, u.id))
        live = uow.users.live_among([u.id for u in users])
    items = [PublicUser.of(u, is_live=u.id in live) for u in users]
    return UserPage(items=items, next_cursor=cursor)
