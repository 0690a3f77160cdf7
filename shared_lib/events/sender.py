"""Sender identity for events (DESIGN.md §4): OIDC tokens, as Knative Eventing's
`authentication-oidc` feature carries them.

Every event request carries `Authorization: Bearer <token>`: a JWT from the service-account
issuer (the cluster's, or the local one of local/issuer.py) for the receiver's audience.
Event functions verify it (signature through the issuer's JWKS, issuer, audience, expiry)
and answer 401 without a valid one, so nothing acts on an event whose sender it cannot
attribute. Senders (functions through the outbox, the ingest sidecar) read their token
from the file STREAMFN_SENDER_TOKEN_FILE names, the way a pod reads a projected
service-account token that the kubelet keeps fresh.

Audiences: the broker's is Knative's `eventing.knative.dev/broker/<namespace>/<name>`; each
event function's is `streamfn/functions/<name>` (its Trigger's or PingSource's subscriber
audience in the manifests).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared_lib.config import Settings, get_settings
from shared_lib.errors import NotAuthenticated

ALGORITHMS = ["RS256", "ES256", "EdDSA"]
FUNCTION_AUDIENCE_PREFIX = "streamfn/functions/"


def broker_audience(namespace: str, broker: str) -> str:
    return f"eventing.knative.dev/broker/{namespace}/{broker}"


def function_audience(name: str) -> str:
    return f"{FUNCTION_AUDIENCE_PREFIX}{name}"


def service_account(namespace: str, name: str) -> str:
    """The `sub` of a Kubernetes service account's token."""
    return f"system:serviceaccount:{namespace}:{name}"


@dataclass(frozen=True)
class Sender:
    subject: str
    audience: str


class SenderVerifier:
    def __init__(self, jwks: dict[str, Any], issuer: str) -> None:
        import jwt

        from shared_lib.verified import Verified

        self._issuer = issuer
        self._keys = {jwk.get("kid"): jwt.PyJWK(jwk).key for jwk in jwks.get("keys", [])}
        self._verified: Verified[Sender] = Verified()

    def verify(self, token: str, *, audience: str) -> Sender:
        """The sender of a valid token for `audience`; NotAuthenticated otherwise."""
        key = f"{audience} {token}"
        sender = self._verified.get(key)
        if sender is None:
            sender, expires_at = self._verify(token, audience=audience)
            self._verified.put(key, sender, valid_until=expires_at)
        return sender

    def _verify(self, token: str, *, audience: str) -> tuple[Sender, float]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(header.get("kid")) if header.get("kid") or len(self._keys) != 1 \
                else next(iter(self._keys.values()))
            if key is None or header.get("alg") not in ALGORITHMS:
                raise jwt.InvalidTokenError("unknown key or algorithm")
            claims = jwt.decode(token, key, algorithms=ALGORITHMS, audience=audience,
                                issuer=self._issuer, options={"require": ["exp", "iss", "aud", "sub"]})
        except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
            raise NotAuthenticated("The event's sender could not be verified.") from None
        return Sender(subject=str(claims["sub"]), audience=audience), float(claims["exp"])


@functools.cache
def _verifier(jwks_file: str, issuer: str, mtime: float) -> SenderVerifier:
    return SenderVerifier(json.loads(Path(jwks_file).read_text()), issuer)


def verify_request(authorization: str, *, audience: str, settings: Settings | None = None) -> Sender:
    """The sender of a request's `Authorization` header, verified for `audience`."""
    settings = settings or get_settings()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Events need the sender's OIDC token (Authorization: Bearer).")
    if not settings.oidc_jwks_file:
        raise NotAuthenticated("No issuer is configured to verify the event's sender.")
    try:
        mtime = os.stat(settings.oidc_jwks_file).st_mtime  # a rotated JWKS is read again
    except OSError:
        raise NotAuthenticated("The issuer's keys cannot be read.") from None
    return _verifier(settings.oidc_jwks_file, settings.oidc_issuer, mtime).verify(
        token.strip(), audience=audience)


def sender_token(settings: Settings | None = None) -> str | None:
    """This process's own token for the broker, from its projected token file (read again
    when the kubelet has replaced it: every event goes with one, and a stat costs less)."""
    path = (settings or get_settings()).sender_token_file
    if not path:
        return None
    try:
        return _token(path, os.stat(path).st_mtime_ns)
    except OSError:
        return None


@functools.lru_cache(maxsize=4)
def _token(path: str, mtime: int) -> str | None:
    return Path(path).read_text().strip() or None
