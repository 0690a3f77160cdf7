"""The error contract and routing of the public and internal gateway ports."""

from __future__ import annotations

import uuid

import pytest

from tests import factories
from tests.e2e.conftest import http, register_user
from tests.e2e.media import wait_until


@pytest.mark.parametrize("method, path, data, content_type, status, code", [
    ("POST", "/api/auth/login", b"{broken", "application/json", 400, "invalid_input"),
    ("POST", "/api/auth/login", b"username=a", "application/x-www-form-urlencoded", 415,
     "unsupported_media_type"),
    ("POST", "/api/auth/login", b'{"u": "' + b"x" * 2_000_000 + b'"}', "application/json", 413,
     "payload_too_large"),
    ("GET", "/api/no/such/thing", None, None, 404, "not_found"),
    ("DELETE", "/api/auth/login", None, None, 405, "method_not_allowed"),
])
def test_bad_requests_get_json_errors_never_500(platform, method, path, data, content_type,
                                                status, code):
    headers = {"Content-Type": content_type} if content_type else {}
    answer = http(method, platform.api_url + path, data=data, headers=headers)
    assert answer.status == status
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json()["error"]["code"] == code


def test_the_public_port_never_routes_internal_paths(platform):
    answer = http("POST", f"{platform.api_url}/internal/ingest/authorize", json_body={})
    assert answer.status == 404


def test_the_openapi_document_is_served(platform):
    answer = http("GET", f"{platform.api_url}/api/openapi.json")
    assert answer.status == 200
    document = answer.json()
    assert document["openapi"] == "3.1.0"
    assert "post" in document["paths"]["/api/auth/login"]
    assert not any(path.startswith("/internal/") for path in document["paths"])


def test_the_broker_ingress_takes_cloudevents_from_known_senders_and_refuses_the_rest(platform):
    from tests.e2e.conftest import sender

    signed = sender(platform.env["STREAMFN_SENDER_TOKEN_FILE"])
    event, _ = factories.cloudevent("dev.streamfn.nobody.listens", source="/e2e")
    assert http("POST", f"{platform.internal_url}/", data=b"{}", headers={**event, **signed}).status == 202
    refused = http("POST", f"{platform.internal_url}/", data=b"{}",
                   headers={"Content-Type": "application/json", **signed})
    assert refused.status == 400 and refused.json()["error"]["code"] == "invalid_event"
    for forged in ({}, {"Authorization": "Bearer forged"}):
        anonymous = http("POST", f"{platform.internal_url}/", data=b"{}", headers={**event, **forged})
        assert anonymous.status == 401 and anonymous.json()["error"]["code"] == "not_authenticated"


def test_a_forged_go_live_sent_straight_to_the_event_function_is_refused(platform):
    """The audit's attack: another user's planned stream made live without a publish."""
    from tests.e2e.conftest import register_user, sender

    _, tokens = register_user(platform.api_url, "fg")
    stream = http("POST", f"{platform.api_url}/api/streams", json_body={"title": "planned"},
                  token=tokens["access_token"]).json()
    event, _ = factories.cloudevent("dev.streamfn.stream.started", source="/rtmp-ingest/x")
    port = platform.runtime.instances["on-stream-started"].port
    # Even a sender's token for the broker is not one for the function.
    broker_token = sender(platform.env["STREAMFN_SENDER_TOKEN_FILE"])
    for authorization in ({}, broker_token):
        answer = http("POST", f"http://127.0.0.1:{port}/", headers={**event, **authorization},
                      json_body={"stream_id": stream["id"], "started_at": "2099-01-01T00:00:00+00:00"})
        assert answer.status == 401
    assert http("GET", f"{platform.api_url}/api/streams/{stream['id']}").json()["status"] == "created"


def test_values_postgresql_cannot_hold_are_400s_naming_the_field_and_harm_nothing_else(platform):
    from shared_lib.http.paging import encode_cursor
    from tests.e2e.conftest import register_user

    api = platform.api_url
    cursor = encode_cursor("9999-12-31T23:59:59-14:00", str(uuid.uuid4()))
    answer = http("GET", f"{api}/api/streams?cursor={cursor}")
    assert answer.status == 400 and answer.json()["error"]["details"] == [{"field": "cursor"}]
    for _ in range(7):
        assert http("GET", f"{api}/api/streams?live=true").status == 200
    _, tokens = register_user(api, "nul")
    token = tokens["access_token"]
    bio = http("PATCH", f"{api}/api/users/me", json_body={"bio": "a\u0000b"}, token=token)
    assert bio.status == 400 and bio.json()["error"]["details"][0]["field"] == "bio"
    read = http("POST", f"{api}/api/notifications/read", json_body={"ids": [2**64]}, token=token)
    assert read.status == 400 and read.json()["error"]["details"][0]["field"] == "ids.0"
    search = http("GET", f"{api}/api/users?q=a%00b")
    assert search.status == 400 and search.json()["error"]["code"] == "invalid_input"


def test_the_directory_is_cached_for_a_second_for_viewers_and_never_for_its_owner(platform):
    api = platform.api_url
    _, tokens = register_user(api, "dir")
    token = tokens["access_token"]
    stream = http("POST", f"{api}/api/streams", json_body={"title": "before"}, token=token).json()
    one = f"{api}/api/streams/{stream['id']}"
    first, second = http("GET", one), http("GET", one)
    assert first.headers["Cache-Control"] == "public, max-age=1"
    assert second.headers["X-Cache-Status"] == "HIT", "a viewer's second look comes from the front door"
    assert http("PATCH", one, json_body={"title": "after"}, token=token).status == 200
    mine = http("GET", one, token=token)
    assert mine.json()["title"] == "after" and mine.headers["X-Cache-Status"] == "BYPASS", \
        "the owner sees their edit at once"
    assert wait_until(lambda: http("GET", one).json()["title"] == "after", timeout=2.5, interval=0.1), \
        "viewers within a second or two"
    # Anything with a token, and every answer that is not public, passes by the cache.
    assert http("GET", f"{api}/api/auth/me", token=token).headers["X-Cache-Status"] == "BYPASS"
    assert http("GET", f"{api}/api/auth/me").status == 401
