"""Profiles and search (functions/accounts.py) on the real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from tests import factories


def new_user(call, prefix="f", display_name=None):
    return factories.new_user(call, prefix, **({"display_name": display_name} if display_name else {}))


def profile(call, name):
    return call("get-profile", path=f"/api/users/{name}")


def test_a_public_profile_has_the_public_fields_only(call):
    name, _ = new_user(call)
    response = profile(call, name.upper())
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"id", "username", "display_name", "bio", "avatar_url",
                         "followers_count", "following_count", "is_live", "created_at"}
    assert body["username"] == name
    for secret in ("email", "password_hash", "stream_key", "stream_key_hash", "@example.com"):
        assert secret not in response.get_data(as_text=True)


def test_an_unknown_user_is_404(call):
    response = profile(call, "nobody_here_at_all")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "user_not_found"


def test_update_profile_changes_only_what_was_sent(call):
    name, token = new_user(call)
    changed = call("update-profile", token=token,
                   json={"display_name": "Ada", "bio": "I stream math.",
                         "avatar_url": "https://cdn.example.com/a.png"})
    assert changed.status_code == 200
    assert changed.get_json()["bio"] == "I stream math."
    again = call("update-profile", token=token, json={"bio": ""})
    assert again.get_json()["display_name"] == "Ada" and again.get_json()["bio"] == ""
    cleared = call("update-profile", token=token, json={"avatar_url": None})
    assert cleared.get_json()["avatar_url"] is None
    assert profile(call, name).get_json()["display_name"] == "Ada"


@pytest.mark.parametrize("body", [
    {"display_name": ""},
    {"display_name": "x" * 51},
    {"display_name": None},
    {"bio": "x" * 501},
    {"avatar_url": "javascript:alert(1)"},
    {"avatar_url": "ftp://example.com/a.png"},
    {"avatar_url": "https://example.com/" + "a" * 2000},
    {"email": "new@example.com"},
    {"followers_count": 1_000_000},
])
def test_update_profile_refuses_bad_values_and_unknown_fields(call, body):
    _, token = new_user(call)
    response = call("update-profile", token=token, json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]


def test_update_profile_needs_a_token(call):
    assert call("update-profile", json={"bio": "x"}).status_code == 401


def test_search_is_a_case_insensitive_prefix_ranked_by_followers(call):
    tag = uuid.uuid4().hex[:6]
    quiet, _ = new_user(call, f"zq{tag}")
    popular, _ = new_user(call, f"zq{tag}")
    _, by_display = new_user(call, "other", display_name=f"ZQ{tag} Fan Club")
    for _ in range(2):
        _, token = new_user(call)
        call("follow", path=f"/api/users/{popular}/follow", token=token)
    found = call("search-users", path=f"/api/users?q=ZQ{tag.upper()}").get_json()["items"]
    names = [user["username"] for user in found]
    assert names[0] == popular and set(names) >= {quiet, popular}
    assert any(user["display_name"].startswith("ZQ") for user in found)
    assert call("search-users", path="/api/users").status_code == 400


def test_search_treats_like_wildcards_as_text(call):
    tag = uuid.uuid4().hex[:6]
    name, _ = new_user(call, "pct", display_name=f"9{tag}00% real")
    literal = call("search-users", path=f"/api/users?q=9{tag}00%25").get_json()["items"]
    assert [u["username"] for u in literal] == [name]
    wildcard = call("search-users", path=f"/api/users?q=9{tag}%25").get_json()["items"]
    assert wildcard == [], "% is a character to match, not a wildcard"


def test_search_uses_the_prefix_indexes():
    from sqlalchemy import text

    from shared_lib.db import get_engine

    with get_engine().connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(row[0] for row in connection.execute(text(
            "EXPLAIN SELECT * FROM users WHERE lower(username) LIKE 'ab%' "
            "OR lower(display_name) LIKE 'ab%'")))
    assert "ix_users_username_prefix" in plan and "ix_users_display_name_prefix" in plan
