"""With Redis really stopped: reads and token checks fall back to PostgreSQL, and the
login throttle, which cannot work without Redis, answers 503 instead of running unchecked."""

from __future__ import annotations

import uuid

import pytest

from local import services


@pytest.fixture
def redis_stopped(servers):
    services.stop_redis(servers)
    yield
    services.start_redis(servers)


def test_without_redis_tokens_still_verify_and_revocations_still_hold(call, servers):
    name = f"r_{uuid.uuid4().hex[:8]}"
    tokens = call("register", json={"username": name, "email": f"{name}@example.com",
                                    "password": "correct horse"}).get_json()
    revoked = call("login", json={"username": name, "password": "correct horse"}).get_json()
    assert call("logout", token=revoked["access_token"]).status_code == 204

    services.stop_redis(servers)
    try:
        assert call("me", token=tokens["access_token"]).status_code == 200
        assert call("me", token=revoked["access_token"]).status_code == 401
        login = call("login", json={"username": name, "password": "correct horse"})
        assert login.status_code == 503
        assert login.get_json()["error"]["code"] == "unavailable"
    finally:
        services.start_redis(servers)
    assert call("login", json={"username": name, "password": "correct horse"}).status_code == 200
    assert call("me", token=revoked["access_token"]).status_code == 401
