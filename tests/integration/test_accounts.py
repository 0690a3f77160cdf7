"""Accounts and tokens on the real PostgreSQL and Redis."""

from __future__ import annotations

import time
import uuid

import pytest

from tests import factories

unique = factories.unique


def register(call, name=None, password=factories.PASSWORD, **extra):
    body = factories.registration(name, password=password, **extra)
    return body["username"], call("register", json=body)


def address() -> str:
    """An address of its own (IPv6 documentation prefix): no other test, or earlier run,
    has counted against it."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@pytest.fixture
def counting(monkeypatch):
    """Throttle windows long enough that a slow machine's attempts all fall in one: the
    suite's 3 s window (for the test that waits one out) could end half way through a
    count, and the count start again."""
    from local.platform import reset_caches

    monkeypatch.setenv("STREAMFN_LOGIN_WINDOW_SECONDS", "300")
    reset_caches()


def login(call, name, password="correct horse", address="203.0.113.9"):
    return call("login", json={"username": name, "password": password},
                headers={"X-Forwarded-For": address})


def test_register_then_me_shows_the_account_with_email(call):
    name, response = register(call, display_name="Ada L.")
    assert response.status_code == 201
    tokens = response.get_json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0
    me = call("me", token=tokens["access_token"])
    assert me.status_code == 200
    body = me.get_json()
    assert body["username"] == name and body["email"] == f"{name}@example.com"
    assert body["display_name"] == "Ada L." and body["followers_count"] == 0
    assert body["is_live"] is False and "password_hash" not in body


def test_usernames_are_case_insensitively_unique_and_emails_unique(call):
    name, _ = register(call)
    again = call("register", json={"username": name.upper(), "email": f"x{name}@example.com",
                                   "password": "correct horse"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "username_taken"
    taken = call("register", json={"username": unique(), "email": f"{name.upper()}@EXAMPLE.com",
                                   "password": "correct horse"})
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize("body, field", [
    ({"username": "ab"}, "username"),
    ({"username": "has space"}, "username"),
    ({"email": "not-an-email"}, "email"),
    ({"password": "short"}, "password"),
])
def test_registration_validates_each_field(call, body, field):
    name = unique()
    full = {"username": name, "email": f"{name}@example.com", "password": "correct horse", **body}
    response = call("register", json=full)
    assert response.status_code == 400
    assert field in {d["field"] for d in response.get_json()["error"]["details"]}


def test_a_73_byte_password_is_400_at_register_and_login(call):
    name, response = register(call, password="a" * 73)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "password_too_long"
    name, _ = register(call, password="a" * 72)
    assert login(call, name, "a" * 72).status_code == 200
    refused = login(call, name, "a" * 72 + "b")
    assert refused.status_code == 400, "a longer password is refused, not truncated to a match"


def test_wrong_passwords_past_the_limit_end_in_429_and_the_right_one_works_after_the_window(
        call, monkeypatch):
    from local.platform import reset_caches

    # A low limit, so the count fits in the suite's 3 s window even on a slow machine.
    monkeypatch.setenv("STREAMFN_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")
    reset_caches()
    name, _ = register(call)
    guesser = address()
    statuses = [login(call, name, "wrong password", guesser).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    throttled = login(call, name, "correct horse", guesser)
    assert throttled.status_code == 429, "even the right password waits out the window"
    retry_after = int(throttled.headers["Retry-After"])
    assert 1 <= retry_after <= 3
    time.sleep(retry_after + 0.5)
    assert login(call, name, "correct horse", guesser).status_code == 200


def test_the_per_address_limit_stops_a_guesser_spreading_over_accounts(call, monkeypatch, counting):
    from local.platform import reset_caches

    monkeypatch.setenv("STREAMFN_LOGIN_MAX_FAILURES_PER_ADDRESS", "5")
    reset_caches()
    guesser = address()
    statuses = [login(call, unique(), "wrong password", guesser).status_code for _ in range(7)]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]


def test_parallel_wrong_passwords_are_counted_before_they_are_checked(call, counting):
    """25 guesses at once against a limit of 10: at most 10 passwords are ever checked."""
    from concurrent.futures import ThreadPoolExecutor

    name, _ = register(call)
    guesser = address()
    with ThreadPoolExecutor(25) as pool:
        statuses = list(pool.map(lambda _: login(call, name, "wrong password", guesser).status_code,
                                 range(25)))
    assert statuses.count(401) <= 10 and statuses.count(429) >= 15


def test_username_and_email_share_one_bucket(call, counting):
    name, _ = register(call)
    for _ in range(10):
        assert login(call, name, "wrong password", address()).status_code == 401
    by_email = login(call, f"{name}@example.com", "wrong password", address())
    assert by_email.status_code == 429


def test_the_address_limit_never_refuses_a_right_password(call, monkeypatch, counting):
    from local.platform import reset_caches

    monkeypatch.setenv("STREAMFN_LOGIN_MAX_FAILURES_PER_ADDRESS", "3")
    reset_caches()
    name, _ = register(call)
    shared = address()
    assert [login(call, unique(), "wrong password", shared).status_code for _ in range(5)] == [
        401, 401, 401, 429, 429]
    assert login(call, name, "correct horse", shared).status_code == 200
    assert login(call, name, "wrong password", shared).status_code == 429


def test_registrations_are_limited_per_address(call, monkeypatch):
    from local.platform import reset_caches

    monkeypatch.setenv("STREAMFN_REGISTER_MAX_PER_ADDRESS", "2")
    reset_caches()
    address = f"198.18.0.{uuid.uuid4().int % 250}"

    def sign_up():
        name = unique()
        return call("register", json={"username": name, "email": f"{name}@example.com",
                                      "password": "correct horse"},
                    headers={"X-Forwarded-For": address})

    assert [sign_up().status_code for _ in range(2)] == [201, 201]
    refused = sign_up()
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["code"] == "throttled"


def test_a_refresh_token_used_twice_revokes_its_whole_family(call):
    _, response = register(call)
    first = response.get_json()
    second = call("refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert call("me", token=second["access_token"]).status_code == 200
    replay = call("refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "invalid_token"
    assert call("refresh", json={"refresh_token": second["refresh_token"]}).status_code == 401
    assert call("me", token=second["access_token"]).status_code == 401


def test_logout_revokes_the_access_token_and_the_refresh_token(call):
    _, response = register(call)
    tokens = response.get_json()
    assert call("logout", token=tokens["access_token"]).status_code == 204
    assert call("me", token=tokens["access_token"]).status_code == 401
    assert call("refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def _session_cookie(response) -> tuple[str, str]:
    header = response.headers["Set-Cookie"]
    name, _, rest = header.partition("=")
    return rest.split(";", 1)[0], header


def test_browsers_get_the_refresh_token_as_an_httponly_cookie_that_refresh_accepts(call):
    _, response = register(call)
    value, header = _session_cookie(response)
    assert value == response.get_json()["refresh_token"]
    assert header.startswith("streamfn_refresh=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/api/auth/"):
        assert attribute in header
    assert response.headers["Cache-Control"] == "no-store"

    # A reload: the app asks for a new pair with an empty body and the cookie.
    renewed = call("refresh", json={}, cookies={"streamfn_refresh": value})
    assert renewed.status_code == 200
    assert call("me", token=renewed.get_json()["access_token"]).status_code == 200
    rotated, _ = _session_cookie(renewed)
    assert rotated == renewed.get_json()["refresh_token"] != value
    missing = call("refresh", json={})
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "not_authenticated"

    # Logging out clears the cookie.
    out = call("logout", token=renewed.get_json()["access_token"])
    assert out.status_code == 204
    cleared, header = _session_cookie(out)
    assert cleared == "" and "Max-Age=0" in header
    assert call("refresh", json={}, cookies={"streamfn_refresh": rotated}).status_code == 401


def test_a_form_post_cannot_spend_the_session_cookie(call):
    """A cross-site form can send text/plain with the cookie; refresh refuses it."""
    _, response = register(call)
    value, _ = _session_cookie(response)
    forged = call("refresh", data="{}", content_type="text/plain",
                  cookies={"streamfn_refresh": value})
    assert forged.status_code == 415
    assert call("refresh", json={}, cookies={"streamfn_refresh": value}).status_code == 200


def test_revocation_holds_when_redis_has_lost_its_keys(call):
    from shared_lib.cache import get_redis

    _, response = register(call)
    tokens = response.get_json()
    _, other = register(call)
    call("logout", token=tokens["access_token"])
    get_redis().flushdb()
    assert call("me", token=tokens["access_token"]).status_code == 401
    assert call("me", token=other.get_json()["access_token"]).status_code == 200
    assert call("me", token=tokens["access_token"]).status_code == 401, "reloaded into Redis"


def _forge(claims_change=None, header_change=None, key=None):
    import time as clock

    import jwt

    from shared_lib.security import get_jwks, get_signer

    now = int(clock.time())
    claims = {"iss": "streamfn", "aud": "streamfn-api", "sub": str(uuid.uuid4()), "name": "x",
              "sid": str(uuid.uuid4()), "jti": uuid.uuid4().hex, "iat": now, "exp": now + 600,
              **(claims_change or {})}
    headers = {"kid": get_jwks()["keys"][0]["kid"], **(header_change or {})}
    signing = key or get_signer()._key
    return jwt.encode(claims, signing, algorithm="EdDSA", headers=headers)


@pytest.mark.parametrize("case", ["alg-none", "wrong-key", "wrong-issuer", "wrong-audience",
                                  "expired", "flipped-byte"])
def test_bad_tokens_are_401_with_a_json_error(call, case):
    import base64
    import json as jsonlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _, response = register(call)
    good = response.get_json()["access_token"]
    if case == "alg-none":
        header, payload, _ = good.split(".")
        none = base64.urlsafe_b64encode(jsonlib.dumps({"alg": "none", "typ": "JWT"}).encode())
        token = f"{none.rstrip(b'=').decode()}.{payload}."
    elif case == "wrong-key":
        token = _forge(key=Ed25519PrivateKey.generate())
    elif case == "wrong-issuer":
        token = _forge({"iss": "someone-else"})
    elif case == "wrong-audience":
        token = _forge({"aud": "another-api"})
    elif case == "expired":
        token = _forge({"exp": int(time.time()) - 120, "iat": int(time.time()) - 900})
    else:
        index = len(good) // 2
        token = good[:index] + ("A" if good[index] != "A" else "B") + good[index + 1:]
    answer = call("me", token=token)
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "invalid_token"
    assert call("me", token=good).status_code == 200


def test_a_right_password_after_its_window_ended_leaves_no_count_behind(monkeypatch):
    """The address's count given back once its window expired must not come back as a
    count that never expires."""
    from local.platform import reset_caches
    from shared_lib.accounts.throttle import LoginThrottle
    from shared_lib.cache import Keys, get_redis
    from shared_lib.config import get_settings

    monkeypatch.setenv("STREAMFN_LOGIN_WINDOW_SECONDS", "1")
    reset_caches()
    throttle, shared = LoginThrottle(get_redis(), get_settings()), address()
    assert throttle.reserve("account", shared) is None
    time.sleep(1.2)  # the password check outlived the window
    throttle.release("account", shared)
    assert get_redis().exists(Keys.login_failures_by_address(shared)) == 0
