"""Accounts as clients see them (DESIGN.md §3), what they send to register, log in and edit
a profile, and the field rules those share. Fields may be added, never renamed."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Protocol
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, EmailStr, Field

from shared_lib.errors import PasswordTooLong
from shared_lib.http.paging import Page, PageQuery
from shared_lib.http.requests import Request, Shape
from shared_lib.security import MAX_PASSWORD_BYTES

if TYPE_CHECKING:
    from shared_lib.accounts.models import User


USERNAME = re.compile(r"^[a-z0-9_]{3,30}$")
MIN_PASSWORD_BYTES = 8
REFRESH_TOKEN_MAX_LENGTH = 200


def _username(value: str) -> str:
    value = value.lower()
    if not USERNAME.match(value):
        raise ValueError("usernames are 3 to 30 characters of a-z, 0-9 and _")
    return value


def _password(value: str) -> str:
    size = len(value.encode("utf-8"))
    if size > MAX_PASSWORD_BYTES:
        raise PasswordTooLong(details=[{"field": "password", "bytes": size}])
    if size < MIN_PASSWORD_BYTES:
        raise ValueError(f"passwords are at least {MIN_PASSWORD_BYTES} bytes")
    return value


Username = Annotated[str, AfterValidator(_username)]
Password = Annotated[str, AfterValidator(_password)]
LowerStr = Annotated[str, BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v)]


class TokenPair(Shape):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int


class Profile(Protocol):
    """What a public profile is made of: an account (`User`), or a row with its columns."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def username(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def bio(self) -> str | None: ...
    @property
    def avatar_url(self) -> str | None: ...
    @property
    def followers_count(self) -> int: ...
    @property
    def following_count(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...


class PublicUser(Shape):
    id: uuid.UUID
    username: str
    display_name: str
    bio: str
    avatar_url: str | None
    followers_count: int
    following_count: int
    is_live: bool
    created_at: datetime

    @classmethod
    def of(cls, user: Profile, *, is_live: bool) -> PublicUser:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            bio=user.bio or "",
            avatar_url=user.avatar_url,
            followers_count=user.followers_count or 0,
            following_count=user.following_count or 0,
            is_live=is_live,
            created_at=user.created_at,
        )


class Me(PublicUser):
    email: str
    recording_enabled: bool

    @classmethod
    def of_account(cls, user: User, *, is_live: bool) -> Me:
        return cls(**PublicUser.of(user, is_live=is_live).model_dump(), email=user.email,
                   recording_enabled=user.recording_enabled)


class UserSummary(Shape):
    id: uuid.UUID
    username: str
    display_name: str
    avatar_url: str | None

    @classmethod
    def of(cls, user: User) -> UserSummary:
        return cls(id=user.id, username=user.username, display_name=user.display_name,
                   avatar_url=user.avatar_url)


class UserPage(Page[PublicUser]):
    pass


class RegisterRequest(Request):
    username: Username
    email: EmailStr
    password: Password
    display_name: str | None = Field(default=None, min_length=1, max_length=50)


class LoginRequest(Request):
    username: LowerStr = Field(min_length=1, max_length=254, description="username or email")
    password: str = Field(min_length=1)


class RefreshRequest(Request):
    refresh_token: str | None = Field(
        default=None, min_length=1, max_length=REFRESH_TOKEN_MAX_LENGTH,
        description="the refresh token; a browser may leave it out and send the session cookie",
    )


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

    # (Hence the ignores: a default of None means absent, unchanged.)

    display_name: str = Field(default=None, min_length=1, max_length=50)  # type: ignore[assignment]
    bio: str = Field(default=None, max_length=500)  # type: ignore[assignment]
    avatar_url: Annotated[str | None, AfterValidator(_http_url)] = Field(default=None,
                                                                         max_length=2000)
    recording_enabled: bool = Field(default=None)  # type: ignore[assignment]


class SearchQuery(PageQuery):
    q: str = Field(min_length=1, max_length=50)
