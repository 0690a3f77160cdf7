"""Accounts: register, login, refresh, logout, me, jwks; get-profile, update-profile,
search-users.

Only these functions hold the signing key; every other function verifies tokens with the
public keys that `jwks` publishes. The database layer is imported inside the handlers
that use it, so jwks's cold start pays only for routing.

Browsers: register, login and refresh also set the refresh token as an HttpOnly,
SameSite=Strict cookie scoped to /api/auth/, and refresh takes it from there when the body
names none. The web app so keeps its access token in memory and never holds the refresh
token in script-readable storage, yet a reload or a new tab stays signed in. Logout clears
the cookie. Cross-site requests cannot spend it: the cookie is SameSite=Strict, and refresh
takes only an application/json body, which a cross-origin page cannot send without a CORS
preflight that the API never grants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared_lib.accounts.shapes import (
    REFRESH_TOKEN_MAX_LENGTH,
    LoginRequest,
    Me,
    ProfileUpdate,
    PublicUser,
    RefreshRequest,
    RegisterRequest,
    SearchQuery,
    TokenPair,
    UserPage,
)
from shared_lib.config import get_settings
from shared_lib.errors import NotAuthenticated
from shared_lib.http import Client, Reply, http_function
from shared_lib.security import AccessClaims, get_jwks, get_signer, password_bytes

if TYPE_CHECKING:
    from shared_lib.accounts.models import User
    from shared_lib.accounts.sessions import Session
    from shared_lib.db import UnitOfWork

REFRESH_COOKIE = "streamfn_refresh"
REFRESH_COOKIE_PATH = "/api/auth/"


def _cookie(value: str, max_age: int) -> str:
    secure = "" if get_settings().relaxed else "; Secure"
    return (f"{REFRESH_COOKIE}={value}; Path={REFRESH_COOKIE_PATH}; Max-Age={max_age}; "
            f"HttpOnly; SameSite=Strict{secure}")


def _pair(session: Session, status: int = 200) -> Reply:
    """The token pair, and the refresh token again as the browser's session cookie."""
    pair = TokenPair(access_token=session.access_token, refresh_token=session.refresh_token,
                     expires_in=session.expires_in)
    cookie = _cookie(session.refresh_token, get_settings().refresh_token_ttl_seconds)
    return Reply(pair, status, {"Set-Cookie": cookie, "Cache-Control": "no-store"})


@http_function("POST /api/auth/register", body=RegisterRequest, response=TokenPair, status=201)
def register(body: RegisterRequest, client: Client, uow: UnitOfWork) -> Reply:
    """Create an account and log it in."""
    from shared_lib.accounts import sessions
    from shared_lib.accounts.throttle import limit_registrations
    from shared_lib.cache import get_redis

    settings = get_settings()
    limit_registrations(get_redis(), client.address, per_hour=settings.register_max_per_address)
    user = sessions.register(uow, username=body.username, email=body.email.lower(),
                             password=body.password, display_name=body.display_name,
                             rounds=settings.bcrypt_rounds)
    return _pair(sessions.start_session(uow, user, signer=get_signer(), settings=settings), 201)


@http_function("POST /api/auth/login", body=LoginRequest, response=TokenPair)
def login(body: LoginRequest, client: Client, uow: UnitOfWork) -> Reply:
    """Exchange a username (or email) and password for a token pair."""
    from shared_lib.accounts import sessions
    from shared_lib.accounts.throttle import LoginThrottle
    from shared_lib.cache import get_redis

    settings = get_settings()
    password_bytes(body.password)
    user = sessions.check_password(uow, login=body.username, password=body.password,
                                   rounds=settings.bcrypt_rounds, address=client.address,
                                   throttle=LoginThrottle(get_redis(), settings))
    return _pair(sessions.start_session(uow, user, signer=get_signer(), settings=settings))


@http_function("POST /api/auth/refresh", body=RefreshRequest, response=TokenPair)
def refresh(body: RefreshRequest, cookies: dict[str, str], uow: UnitOfWork) -> Reply:
    """Spend a refresh token (the body's, else the session cookie's) for a new pair.

    A refresh token used twice revokes its whole session."""
    from shared_lib.accounts import sessions

    token = body.refresh_token or cookies.get(REFRESH_COOKIE)
    if not token or len(token) > REFRESH_TOKEN_MAX_LENGTH:
        raise NotAuthenticated("No refresh token: send refresh_token, or the session cookie.")
    return _pair(sessions.refresh(uow, refresh_token=token, signer=get_signer(),
                                  settings=get_settings()))


@http_function("POST /api/auth/logout", auth="user", status=204)
def logout(user: AccessClaims, uow: UnitOfWork) -> Reply:
    """Revoke this session's refresh tokens and the access token presented (and clear the
    browser's session cookie)."""
    from shared_lib.accounts import sessions

    sessions.logout(uow, user, settings=get_settings())
    return Reply(None, 204, {"Set-Cookie": _cookie("", 0)})


@http_function("GET /api/auth/me", auth="user", response=Me)
def me(account: User, uow: UnitOfWork) -> Me:
    """The caller's own account, email included."""
    from shared_lib.accounts import profiles

    return profiles.own(uow, account)


@http_function("GET /api/auth/jwks.json")
def jwks() -> dict:
    """The public keys that verify access tokens, by `kid`."""
    return get_jwks()


@http_function("GET /api/users/{username}", response=PublicUser)
def get_profile(username: str, uow: UnitOfWork) -> PublicUser:
    """A user's public profile."""
    from shared_lib.accounts import profiles

    return profiles.public(uow, username)


@http_function("PATCH /api/users/me", body=ProfileUpdate, auth="user", response=Me)
def update_profile(body: ProfileUpdate, account: User, uow: UnitOfWork) -> Me:
    """Change your display name, bio or avatar URL (null clears the avatar), or turn the
    recording of your broadcasts off or on."""
    from shared_lib.accounts import profiles

    return profiles.edit(uow, account, {name: getattr(body, name) for name in body.model_fields_set})


@http_function("GET /api/users", query=SearchQuery, response=UserPage)
def search_users(query: SearchQuery, uow: UnitOfWork) -> UserPage:
    """Users whose username or display name starts with `q`, most followed first."""
    from shared_lib.accounts import profiles

    return profiles.search(uow, query)
