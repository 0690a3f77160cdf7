"""What a person with curl sees: the account flow of the README, through the gateway."""

from __future__ import annotations

from tests.e2e.conftest import http, register_user


def test_register_login_me_refresh_logout(platform):
    api = platform.api_url
    name, _ = register_user(api)
    login = http("POST", f"{api}/api/auth/login",
                 json_body={"username": name, "password": "correct horse"})
    assert login.status == 200
    tokens = login.json()
    assert "refresh_token" not in str(login.headers), "secrets travel in the body only"
    me = http("GET", f"{api}/api/auth/me", token=tokens["access_token"])
    assert me.status == 200 and me.json()["username"] == name
    refreshed = http("POST", f"{api}/api/auth/refresh",
                     json_body={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status == 200
    new = refreshed.json()
    assert http("POST", f"{api}/api/auth/logout", token=new["access_token"]).status == 204
    assert http("GET", f"{api}/api/auth/me", token=new["access_token"]).status == 401
    again = http("POST", f"{api}/api/auth/refresh", json_body={"refresh_token": new["refresh_token"]})
    assert again.status == 401 and again.json()["error"]["code"] == "invalid_token"


def test_the_jwks_verifies_the_access_tokens(platform):
    import jwt

    api = platform.api_url
    name, tokens = register_user(api)
    jwks = http("GET", f"{api}/api/auth/jwks.json").json()
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    [key] = [k for k in jwks["keys"] if k["kid"] == kid]
    assert "d" not in key, "only the public half is published"
    claims = jwt.decode(tokens["access_token"], jwt.PyJWK(key).key, algorithms=["EdDSA"],
                        audience="streamfn-api")
    assert claims["name"] == name
