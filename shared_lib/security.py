"""Passwords (bcrypt), access tokens (EdDSA JWTs with a `kid`), JWKS, and opaque secrets.

Only the auth functions hold the private key (STREAMFN_JWT_PRIVATE_KEY_FILE); every other
function verifies with the public JWKS (STREAMFN_JWT_PUBLIC_KEYS_FILE), which may list
several keys while one is being rotated out.

Opaque secrets (refresh tokens, stream keys) carry 256 bits of randomness, so they are
stored as a plain SHA-256: a slow hash buys nothing against a secret nobody can guess,
and a digest can be looked up through a unique index.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import bcrypt

from shared_lib.config import Settings, get_settings
from shared_lib.errors import InvalidToken, PasswordTooLong

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"
MAX_PASSWORD_BYTES = 72
CLOCK_SKEW_SECONDS = 5


# --- passwords -------------------------------------------------------------------------


def password_bytes(password: str) -> bytes:
    """The password as bcrypt sees it; over 72 bytes is refused, never truncated."""
    raw = password.encode("utf-8")
    if len(raw) > MAX_PASSWORD_BYTES:
        raise PasswordTooLong(details=[{"field": "password", "bytes": len(raw)}])
    return raw


def hash_password(password: str, *, rounds: int) -> str:
    return bcrypt.hashpw(password_bytes(password), bcrypt.gensalt(rounds)).decode("ascii")


def verify_password(password: str, password_hash: str | None, *, rounds: int) -> bool:
    """Constant work whether or not the user exists: a missing hash checks a dummy one."""
    candidate = password_bytes(password)
    stored = (password_hash or _dummy_hash(rounds)).encode("ascii")
    return bcrypt.checkpw(candidate, stored) and password_hash is not None


@functools.cache
def _dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds)).decode("ascii")


# --- opaque secrets --------------------------------------------------------------------


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(hash_secret(secret), stored_hash)


# --- keys ------------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(private_pem: bytes) -> dict[str, Any]:
    """The public half of an Ed25519 key as a JWK, its `kid` the RFC 7638 thumbprint."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem, password=None)
    x = _b64url(
        key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    )
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = _b64url(hashlib.sha256(canonical.encode()).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": ALGORITHM, "use": "sig"}


def generate_signing_key(private_path: Path, jwks_path: Path) -> None:
    """Write a new Ed25519 private key (mode 0600) and a JWKS holding its public half."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.touch(mode=0o600)
    private_path.write_bytes(pem)
    jwks_path.write_text(json.dumps({"keys": [public_jwk(pem)]}, indent=2))


# --- access tokens ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says: who, which session, which token, until when."""

    user_id: uuid.UUID
    username: str
    session_id: str
    jti: str
    expires_at: int


class TokenSigner:
    def __init__(self, private_pem: bytes, settings: Settings) -> None:
        from cryptography.hazmat.primitives import serialization

        self._key = serialization.load_pem_private_key(private_pem, password=None)
        self.kid = public_jwk(private_pem)["kid"]
        self._settings = settings

    def issue(self, *, user_id: uuid.UUID, username: str, session_id: uuid.UUID) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        import jwt

        now = int(time.time())
        ttl = self._settings.access_token_ttl_seconds
        claims = {
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            "sub": str(user_id),
            "name": username,
            "sid": str(session_id),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + ttl,
        }
        token = jwt.encode(claims, cast("Ed25519PrivateKey", self._key), algorithm=ALGORITHM,
                           headers={"kid": self.kid})
        return token, ttl


class TokenVerifier:
    def __init__(self, jwks: dict[str, Any], settings: Settings) -> None:
        import jwt

        from shared_lib.verified import Verified

        self._keys = {jwk["kid"]: jwt.PyJWK(jwk, algorithm=ALGORITHM).key for jwk in jwks["keys"]}
        self._settings = settings
        self._verified: Verified[AccessClaims] = Verified()

    def verify(self, token: str) -> AccessClaims:
        """The token's claims, or InvalidToken for anything short of a good signature by a
        known key, with our issuer and audience, and not expired."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            self._verified.put(token, claims, valid_until=claims.expires_at + CLOCK_SKEW_SECONDS)
        return claims

    def _verify(self, token: str) -> AccessClaims:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(header.get("kid", ""))
            if key is None or header.get("alg") != ALGORITHM:
                raise InvalidToken()
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "sub", "jti", "sid", "iss", "aud"]},
            )
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                username=str(claims.get("name", "")),
                session_id=str(claims["sid"]),
                jti=str(claims["jti"]),
                expires_at=int(claims["exp"]),
            )
        except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
            raise InvalidToken() from None


@functools.cache
def get_signer() -> TokenSigner:
    settings = get_settings()
    return TokenSigner(settings.read_private_key(), settings)


@functools.cache
def get_jwks() -> dict[str, Any]:
    settings = get_settings()
    if settings.jwt_public_keys_file:
        keys: dict[str, Any] = json.loads(settings.read_public_keys())
        return keys
    if not settings.relaxed:
        from shared_lib.config import SettingsError

        raise SettingsError("STREAMFN_JWT_PUBLIC_KEYS_FILE is required outside development")
    return {"keys": [public_jwk(settings.read_private_key())]}


@functools.cache
def get_verifier() -> TokenVerifier:
    return TokenVerifier(get_jwks(), get_settings())
