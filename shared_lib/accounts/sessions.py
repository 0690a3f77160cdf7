"""Accounts and sessions: registering, checking a password, and the refresh-token families.

A login starts a session: a refresh-token family whose id every access token carries as
`sid`. Each refresh spends the presented token and issues the next one in the family. A
spent token presented again means it was stolen (or replayed): the whole family is
revoked, so both the thief and the victim must log in again. Logout revokes the family and
the access token that asked for it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from shared_lib import errors
from shared_lib.accounts.models import RefreshToken, User
from shared_lib.accounts.revocation import expiry_datetime, remember_revocations, seconds_left
from shared_lib.config import Settings
from shared_lib.security import (
    AccessClaims,
    TokenSigner,
    hash_password,
    hash_secret,
    new_secret,
    verify_password,
)

if TYPE_CHECKING:
    from shared_lib.accounts.throttle import LoginThrottle
    from shared_lib.db import UnitOfWork


@dataclass(frozen=True)
class Session:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


def register(uow: UnitOfWork, *, username: str, email: str, password: str, display_name: str | None,
             rounds: int) -> User:
    if uow.users.get_by_username(username):
        raise errors.UsernameTaken()
    if uow.users.get_by_email(email):
        raise errors.EmailTaken()
    user = User(
        id=uuid.uuid4(),
        username=username,
        email=email,
        password_hash=hash_password(password, rounds=rounds),
        display_name=display_name or username,
    )
    try:
        uow.users.add(user)
    except IntegrityError as exc:
        # Lost a race with a concurrent registration of the same name or address.
        raise (errors.EmailTaken() if "email" in str(exc.orig) else errors.UsernameTaken()) from None
    return user


def check_password(uow: UnitOfWork, *, login: str, password: str, rounds: int,
                   throttle: LoginThrottle | None = None, address: str = "") -> User:
    """The user whose username (or email) and password match, else InvalidCredentials.
    The work is the same whether or not the user exists, so timing tells nothing. With a
    `throttle` (shared_lib.accounts.throttle.LoginThrottle), the attempt is reserved against the
    account and `address` before the password is checked."""
    user = uow.users.get_by_email(login) if "@" in login else uow.users.get_by_username(login)
    account = str(user.id) if user else f"unknown:{login.lower()}"
    over_address = throttle.reserve(account, address) if throttle else None
    if not verify_password(password, user.password_hash if user else None, rounds=rounds) or user is None:
        if over_address is not None:
            raise over_address
        raise errors.InvalidCredentials()
    if throttle:
        throttle.release(account, address)
    return user


def start_session(uow: UnitOfWork, user: User, *, signer: TokenSigner, settings: Settings) -> Session:
    return _issue(uow, user, family_id=uuid.uuid4(), signer=signer, settings=settings)


def _issue(uow: UnitOfWork, user: User, *, family_id: uuid.UUID, signer: TokenSigner,
           settings: Settings) -> Session:
    refresh_token = new_secret()
    uow.refresh_tokens.add(
        RefreshToken(
            id=uuid.uuid4(),
            user_id=user.id,
            family_id=family_id,
            token_hash=hash_secret(refresh_token),
            expires_at=_now() + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    access_token, expires_in = signer.issue(
        user_id=user.id, username=user.username, session_id=family_id
    )
    return Session(access_token=access_token, refresh_token=refresh_token, expires_in=expires_in)


def refresh(uow: UnitOfWork, *, refresh_token: str, signer: TokenSigner, settings: Settings) -> Session:
    """Spend `refresh_token` and issue the next pair of its family."""
    token = uow.refresh_tokens.get_by_hash_for_update(hash_secret(refresh_token))
    now = _now()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise errors.InvalidToken("The refresh token is invalid, expired or revoked.")
    if token.used_at is not None:
        uow.refresh_tokens.revoke_family(token.family_id, at=now)
        uow.after_commit(lambda: remember_revocations(
            jti=None, session_id=str(token.family_id), ttl_seconds=settings.access_token_ttl_seconds
        ))
        raise errors.SessionRevoked()
    token.used_at = now
    user = uow.users.get(token.user_id)
    if user is None:
        raise errors.InvalidToken("The refresh token is invalid, expired or revoked.")
    return _issue(uow, user, family_id=token.family_id, signer=signer, settings=settings)


def logout(uow: UnitOfWork, claims: AccessClaims, *, settings: Settings) -> None:
    """Revoke the caller's session (its refresh family) and this access token."""
    now = _now()
    uow.refresh_tokens.revoke_family(uuid.UUID(claims.session_id), at=now)
    uow.revoked_tokens.revoke(claims.jti, expires_at=expiry_datetime(claims.expires_at))
    uow.after_commit(lambda: remember_revocations(
        jti=claims.jti,
        session_id=claims.session_id,
        ttl_seconds=max(seconds_left(claims.expires_at), settings.access_token_ttl_seconds),
    ))


def _now() -> datetime:
    return datetime.now(UTC)
