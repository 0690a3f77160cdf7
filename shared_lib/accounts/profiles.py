"""Profiles: a user's public face, your own account, editing it, and finding people."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from shared_lib import errors
from shared_lib.accounts.shapes import Me, PublicUser, SearchQuery, UserPage

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork


def public(uow: UnitOfWork, username: str) -> PublicUser:
    user = uow.users.get_by_username(username)
    if user is None:
        raise errors.UserNotFound()
    return PublicUser.of(user, is_live=uow.users.is_live(user.id))


def own(uow: UnitOfWork, account: User) -> Me:
    return Me.of_account(account, is_live=uow.users.is_live(account.id))


def edit(uow: UnitOfWork, account: User, changes: dict[str, Any]) -> Me:
    for field, value in changes.items():
        setattr(account, field, value)
    uow.session.flush()
    return own(uow, account)


def search(uow: UnitOfWork, query: SearchQuery) -> UserPage:
    """Users whose username or display name starts with `q`, most followed first."""
    users = uow.users.search(query.q, after=query.after(int, uuid.UUID), limit=query.fetch)
    users, cursor = query.page(users, lambda user: (user.followers_count, user.id))
    live = uow.users.live_among([user.id for user in users])
    return UserPage(items=[PublicUser.of(u, is_live=u.id in live) for u in users], next_cursor=cursor)
