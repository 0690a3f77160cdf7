"""Accounts and tokens: register, login, refresh, logout, me, jwks.

Only these functions hold the signing key; every other function verifies tokens with the
public keys that `jwks` publishes. The database layer is imported inside the handlers
that use it, so a cold start pays only for routing and validation.
"""

from __future__ import annotations

from pydantic import EmailStr, Field

from shared_lib.config import get_settings
from shared_lib.http import Client, http_function
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


class RefreshRequest(Request):
    refresh_token: str = Field(min_length=1, max_length=200)


def _pair(session) -> TokenPair:
    return TokenPair(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
    )


@http_function("POST /api/auth/register", body=RegisterRequest, response=TokenPair, status=201)
def register(body: RegisterRequest) -> TokenPair:
    """Create an account and log it in."""
    from shared_lib.accounts import register as create_account, start_session
    from shared_lib.db import UnitOfWork

    settings = get_settings()
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
    return _pair(session)


@http_function("POST /api/auth/login", body=LoginRequest, response=TokenPair)
def login(body: LoginRequest, client: Client) -> TokenPair:
    """Exchange a username (or email) and password for a token pair."""
    from shared_lib.accounts import check_password, start_session
    from shared_lib.cache import get_redis
    from shared_lib.db import UnitOfWork
    from shared_lib.errors import InvalidCredentials
    from shared_lib.throttle import LoginThrottle

    settings = get_settings()
    password_bytes(body.password)
    throttle = LoginThrottle(get_redis(), settings)
    throttle.check(body.username, client.address)
    with UnitOfWork() as uow:
        try:
            user = check_password(
                uow, login=body.username, password=body.password, rounds=settings.bcrypt_rounds
            )
        except InvalidCredentials:
            throttle.record_failure(body.username, client.address)
            raise
        session = start_session(uow, user, signer=get_signer(), settings=settings)
        uow.commit()
    throttle.record_success(body.username)
    return _pair(session)


@http_function("POST /api/auth/refresh", body=RefreshRequest, response=TokenPair)
def refresh(body: RefreshRequest) -> TokenPair:
    """Spend a refresh token for a new pair; a token used twice revokes its session."""
    from shared_lib.accounts import refresh as refresh_session
    from shared_lib.db import UnitOfWork

    settings = get_settings()
    with UnitOfWork() as uow:
        session = refresh_session(
            uow, refresh_token=body.refresh_token, signer=get_signer(), settings=settings
        )
        uow.commit()
    return _pair(session)


@http_function("POST /api/auth/logout", auth="user", status=204)
def logout(user: AccessClaims) -> None:
    """Revoke this session's refresh tokens and the access token presented."""
    from shared_lib.accounts import logout as end_session
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        end_session(uow, user, settings=get_settings())


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
