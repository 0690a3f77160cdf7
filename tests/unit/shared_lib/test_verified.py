"""Tokens verified once, until they expire: a verified token is not checked again, an
expired one is, and the memo stays bounded."""

from __future__ import annotations

from shared_lib.verified import Verified


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_verified_token_is_remembered_until_it_expires():
    clock = Clock()
    memo: Verified[str] = Verified(clock=clock)
    memo.put("token", "alice", valid_until=1010.0)
    assert memo.get("token") == "alice"
    clock.now = 1009.9
    assert memo.get("token") == "alice"
    clock.now = 1010.0
    assert memo.get("token") is None, "expired: it must be verified (and refused) again"
    assert memo.get("other") is None


def test_the_memo_starts_over_when_full():
    memo: Verified[int] = Verified(size=2, clock=Clock())
    memo.put("a", 1, valid_until=2000.0)
    memo.put("b", 2, valid_until=2000.0)
    memo.put("c", 3, valid_until=2000.0)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (None, None, 3)


def test_only_the_exact_token_verified_is_remembered():
    import uuid

    import pytest
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from shared_lib.config import Settings
    from shared_lib.errors import InvalidToken
    from shared_lib.security import TokenSigner, TokenVerifier, public_jwk

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    settings = Settings()
    token, _ = TokenSigner(pem, settings).issue(user_id=uuid.uuid4(), username="a",
                                                session_id=uuid.uuid4())
    verifier = TokenVerifier({"keys": [public_jwk(pem)]}, settings)
    assert verifier.verify(token) == verifier.verify(token)
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]])
    with pytest.raises(InvalidToken):
        verifier.verify(forged)
