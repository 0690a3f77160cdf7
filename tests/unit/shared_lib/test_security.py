"""Access tokens and passwords: what verifies and what is refused."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest

from shared_lib.config import Settings
from shared_lib.errors import InvalidToken, PasswordTooLong
from shared_lib.security import (
    TokenSigner,
    TokenVerifier,
    generate_signing_key,
    hash_password,
    public_jwk,
    verify_password,
)

SETTINGS = Settings(environment="test", bcrypt_rounds=4)


@pytest.fixture
def keys(tmp_path):
    generate_signing_key(tmp_path / "a.pem", tmp_path / "a.json")
    generate_signing_key(tmp_path / "b.pem", tmp_path / "b.json")
    return (tmp_path / "a.pem").read_bytes(), (tmp_path / "b.pem").read_bytes()


def signed(private_pem: bytes, settings: Settings = SETTINGS) -> str:
    token, _ = TokenSigner(private_pem, settings).issue(
        user_id=uuid.uuid4(), username="ada", session_id=uuid.uuid4()
    )
    return token


def verifier(private_pem: bytes) -> TokenVerifier:
    return TokenVerifier({"keys": [public_jwk(private_pem)]}, SETTINGS)


def test_a_token_verifies_with_its_public_key(keys):
    claims = verifier(keys[0]).verify(signed(keys[0]))
    assert claims.username == "ada"
    assert claims.expires_at > time.time()


def test_the_key_id_is_in_the_header_and_rotation_keeps_old_tokens_valid(keys):
    token = signed(keys[0])
    assert jwt.get_unverified_header(token)["kid"] == public_jwk(keys[0])["kid"]
    both = TokenVerifier({"keys": [public_jwk(keys[1]), public_jwk(keys[0])]}, SETTINGS)
    assert both.verify(token).username == "ada"


def _segments(token: str) -> list[str]:
    return token.split(".")


def _encode(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def test_alg_none_is_refused(keys):
    header, payload, _ = _segments(signed(keys[0]))
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    header = _encode({"alg": "none", "typ": "JWT", "kid": public_jwk(keys[0])["kid"]})
    unsigned = f"{header}.{_encode(claims)}."
    with pytest.raises(InvalidToken):
        verifier(keys[0]).verify(unsigned)


def test_a_token_signed_by_another_key_is_refused(keys):
    header, payload, signature = _segments(signed(keys[1]))
    forged_header = _encode({"alg": "EdDSA", "typ": "JWT", "kid": public_jwk(keys[0])["kid"]})
    with pytest.raises(InvalidToken):
        verifier(keys[0]).verify(f"{forged_header}.{payload}.{signature}")
    with pytest.raises(InvalidToken):
        verifier(keys[0]).verify(signed(keys[1]))


@pytest.mark.parametrize("field", ["jwt_issuer", "jwt_audience"])
def test_wrong_issuer_or_audience_is_refused(keys, field):
    other = Settings(environment="test", **{field: "someone-else"})
    with pytest.raises(InvalidToken):
        verifier(keys[0]).verify(signed(keys[0], other))


def test_an_expired_token_is_refused(keys):
    expired = Settings(environment="test", access_token_ttl_seconds=-60)
    with pytest.raises(InvalidToken):
        verifier(keys[0]).verify(signed(keys[0], expired))


def test_a_flipped_byte_is_refused(keys):
    token = signed(keys[0])
    for index in (10, len(token) // 2, len(token) - 5):
        flipped = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1:]
        with pytest.raises(InvalidToken):
            verifier(keys[0]).verify(flipped)


def test_passwords_hash_and_verify():
    stored = hash_password("correct horse", rounds=4)
    assert verify_password("correct horse", stored, rounds=4)
    assert not verify_password("wrong horse!", stored, rounds=4)
    assert not verify_password("correct horse", None, rounds=4)


def test_72_bytes_is_the_most_and_never_truncated():
    at_limit = "a" * 72
    stored = hash_password(at_limit, rounds=4)
    assert verify_password(at_limit, stored, rounds=4)
    with pytest.raises(PasswordTooLong):
        hash_password("a" * 73, rounds=4)
    with pytest.raises(PasswordTooLong):
        verify_password("a" * 72 + "b", stored, rounds=4)
