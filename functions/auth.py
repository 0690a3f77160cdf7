"""Accounts and tokens: register, login, refresh, logout, me, jwks.

Only these functions hold the signing key; every other function verifies tokens with the
public keys that `jwks` publishes. The database layer is imported inside the handlers
that use it, so a cold start pays only for routing and validation.

Browsers: register, login and refresh also set the refresh token as an HttpOnly,
SameSite=Strict cookie scoped to /api/auth/, and refresh takes it from there when the body
names none. The web app so keeps its access token in memory and never holds the refresh
token in script-readable storage, yet a reload or a new tab stays signed in. Logout clears
the cookie. Cross-site requests cannot spend it: the cookie is SameSite=Strict, and refresh
takes only an application/json body, which a cross-origin page cannot send without a CORS
preflight that the API never grants.
"""

from __future__ import annotations

from pydantic import EmailStr, Field

from shared_lib.config import get_settings
from shared_lib.http import Client, Reply, http_function
from shared_lib.schemas import LowerStr, Me, Password, Request, TokenPair, Username
from shared_lib.security import AccessClaims, get_jwks, get_signer, password_bytes


class RegisterRequest(Request):
    username: Username
    email: EmailStr
    password: Password
    display_name: str | None = Field(default=None, min_length=1, max_length=50)


class LoginRequest(Request):
    username: LowerStr = Field(min_length=1, max_length=254, description="username or email")
    password: str = Field(min_length=1)


REFRESH_TOKEN_MAX_LENGTH = 200


class RefreshRequest(Request):
    refresh_token: str | None = Field(
        default=None, min_length=1, max_length=REFRESH_TOKEN_MAX_LENGTH,
        description="the refresh token; a browser may leave it out and send the session cookie",
    )


REFRESH_COOKIE = "streamfn_refresh"
REFRESH_COOKIE_PATH = "/api/auth/"


def _cookie(value: str, max_age: int) -> str:
    secure = "" if get_settings().relaxed else "; Secure"
    return (f"{REFRESH_COOKIE}={value}; Path={REFRESH_COOKIE_PATH}; Max-Age={max_age}; "
            f"HttpOnly; SameSite=Strict{secure}")


def _pair(session, status: int = 200) -> Reply:
    """The token pair, and the refresh token again as the browser's session cookie."""
    pair = TokenPair(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
    )
    cookie = _cookie(session.refresh_token, get_settings().refresh_token_ttl_seconds)
    return Reply(pair, status, {"Set-Cookie": cookie, "Cache-Control": "no-store"})


@http_function("POST /api/auth/register", body=RegisterRequest, response=TokenPair, status=201)
def register(body: RegisterRequest, client: Client) -> Reply:
    """Create an account and log it in."""
    from shared_lib.accounts import register as create_account
    from shared_lib.accounts import start_session
    from shared_lib.cache import get_redis
    from shared_lib.db import UnitOfWork
    from shared_lib.throttle import limit_registrations

    settings = get_settings()
    limit_registrations(get_redis(), client.address, per_hour=settings.register_max_per_address)
    with UnitOfWork() as uow:
        user = create_account(
            uow,
            username=body.username,
            email=body.email.lower(),
            password=body.password,
            display_name=body.display_name,
            rounds=settings.bcrypt_rounds,
        )
        session = start_session(uow, user, signer=get_signer(), settings=settings)
        uow.commit()
    return _pair(session, 201)


@http_function("POST /api/auth/login", body=LoginRequest, response=TokenPair)
def login(body: LoginRequest, client: Client) -> Reply:
    """Exchange a username (or email) and password for a token pair."""
    from shared_lib.accounts import check_password, start_session
    from shared_lib.cache import get_redis
    from shared_lib.db import UnitOfWork
    from shared_lib.throttle import LoginThrottle

    settings = get_settings()
    password_bytes(body.password)
    with UnitOfWork() as uow:
        user = check_password(uow, login=body.username, password=body.password,
                              rounds=settings.bcrypt_rounds, address=client.address,
                              throttle=LoginThrottle(get_redis(), settings))
        session = start_session(uow, user, signer=get_signer(), settings=settings)
        uow.commit()
    return _pair(session)


@http_function("POST /api/auth/refresh", body=RefreshRequest, response=TokenPair)
def refresh(body: RefreshRequest, cookies: dict[str, str]) -> Reply:
    """Spend a refresh token (the body's, else the session cookie's) for a new pair.

    A refresh token used twice revokes its whole session."""
    from shared_lib.accounts import refresh as refresh_session
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import NotAuthenticated

    token = body.refresh_token or cookies.get(REFRESH_COOKIE)
    if not token or len(token) > REFRESH_TOKEN_MAX_LENGTH:
        raise NotAuthenticated("No refresh token: send refresh_token, or the session cookie.")
    settings = get_settings()
    with UnitOfWork() as uow:
        session = refresh_session(
            uow, refresh_token=token, signer=get_signer(), settings=settings
        )
        uow.commit()
    return _pair(session)


@http_function("POST /api/auth/logout", auth="user", status=204)
def logout(user: AccessClaims) -> Reply:
    """Revoke this session's refresh tokens and the access token presented (and clear the
    browser's session cookie)."""
    from shared_lib.accounts import logout as end_session
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        end_session(uow, user, settings=get_settings())
    return Reply(None, 204, {"Set-Cookie": _cookie("", 0)})


@http_function("GET /api/auth/me", auth="user", response=Me)
def me(user: AccessClaims) -> Me:
    """The caller's own account, email included."""
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import InvalidToken

    with UnitOfWork() as uow:
        account = uow.users.get(user.user_id)
        if account is None:
            raise InvalidToken()
        return Me.of(account, is_live=uow.users.is_live(account.id))


@http_function("GET /api/auth/jwks.json")
def jwks() -> dict:
    """The public keys that verify access tokens, by `kid`."""
    return get_jwks()
