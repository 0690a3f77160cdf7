"""Who is calling: a bearer token verified and checked against revocations, or the ingest
tier's shared secret."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

import flask

from shared_lib import errors
from shared_lib.config import get_settings
from shared_lib.http.requests import Headers, bearer_token

if TYPE_CHECKING:
    from shared_lib.security import AccessClaims


AUTH_MODES = {"none", "user", "optional", "internal"}
INGEST_SECRET_HEADER = "X-Streamfn-Ingest-Secret"


def authenticate(request: flask.Request, mode: str) -> AccessClaims | None:
    claims = verified(request.headers, mode)
    if claims is not None:
        from shared_lib.accounts.revocation import is_revoked

        if is_revoked(claims):
            raise errors.InvalidToken()
    return claims


async def authenticate_async(headers: Headers, mode: str) -> AccessClaims | None:
    """`authenticate` for an async function: the revocation check waits on the event loop."""
    claims = verified(headers, mode)
    if claims is not None:
        from shared_lib.accounts.revocation import is_revoked_async

        if await is_revoked_async(claims):
            raise errors.InvalidToken()
    return claims


def verified(headers: Headers, mode: str) -> AccessClaims | None:
    """The caller's claims, their token verified but not yet checked against revocations."""
    if mode == "internal":
        secret = headers.get(INGEST_SECRET_HEADER, "")
        if not hmac.compare_digest(secret.encode(), get_settings().ingest_secret.get_secret_value().encode()):
            raise errors.NotAuthenticated("This endpoint is for the ingest tier only.")
        return None
    token = bearer_token(headers)
    if token is None:
        if mode == "user":
            raise errors.NotAuthenticated()
        return None
    if mode == "none":
        return None
    from shared_lib.security import get_verifier

    return get_verifier().verify(token)
