"""The mode Knative mirrors: each function its own functions-framework process."""

from __future__ import annotations

from tests.e2e.conftest import http, register_user, start_platform


def test_every_function_runs_as_its_own_process_behind_the_gateway(servers):
    platform = start_platform("processes", ingest=False)
    try:
        api = platform.api_url
        name, tokens = register_user(api, "p")
        me = http("GET", f"{api}/api/auth/me", token=tokens["access_token"])
        assert me.status == 200 and me.json()["username"] == name
        assert len(set(platform.upstream.ports.values())) == len(platform.upstream.ports)
        bad = http("POST", f"{api}/api/auth/login", data=b"{", headers={"Content-Type": "application/json"})
        assert bad.status == 400 and bad.json()["error"]["code"] == "invalid_input"
    finally:
        platform.stop()
