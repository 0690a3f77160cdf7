"""An `async def` handler of http_function is served by functions-framework's ASGI mode
with the contract every function has: the same checks, statuses and JSON bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared_lib import catalog

SOURCE = str(Path(__file__).with_name("sample_functions.py"))
PATH = "/api/quick/12"


@pytest.fixture(scope="module")
def client():
    import warnings

    from functions_framework.aio import create_asgi_app

    with warnings.catch_warnings():  # starlette would rather have httpx2; httpx serves
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    with TestClient(create_asgi_app("quick", SOURCE)) as test_client:
        yield test_client


def error_of(answer) -> dict:
    assert answer.headers["content-type"] == "application/json"
    return answer.json()["error"]


def test_the_catalog_serves_it_by_asgi_and_not_as_a_stream(client):
    spec = next(s for s in catalog.registered(["sample_functions"]) if s.name == "quick")
    assert spec.asgi and not spec.stream


def test_body_path_parameter_caller_and_reply_reach_the_handler(client):
    answer = client.post(PATH, json={"name": "ada"}, headers={"X-Forwarded-For": "198.51.100.4"})
    assert answer.status_code == 202 and answer.headers["X-Extra"] == "1"
    assert answer.json() == {"hello": "ada", "number": 12, "user": None, "address": "198.51.100.4"}


@pytest.mark.parametrize(("body", "content_type", "status", "code"), [
    (b"{not json", "application/json", 400, "invalid_input"),
    (b"", "application/json", 400, "invalid_input"),
    (b'{"name": 12345}', "application/json", 400, "invalid_input"),
    (b"name=ada", "text/plain", 415, "unsupported_media_type"),
    (json.dumps({"name": "x" * 2_000_000}).encode(), "application/json", 413, "payload_too_large"),
])
def test_bad_bodies_are_refused_as_json(client, body, content_type, status, code):
    answer = client.post(PATH, content=body, headers={"Content-Type": content_type})
    assert answer.status_code == status
    assert error_of(answer)["code"] == code


def test_validation_errors_name_the_field_without_echoing_the_input(client):
    answer = client.post(PATH, json={"name": "", "extra": "hunter22"})
    assert answer.status_code == 400
    assert {d["field"] for d in error_of(answer)["details"]} == {"name", "extra"}
    assert "hunter22" not in answer.text


def test_unknown_path_wrong_method_and_malformed_parameter(client):
    assert error_of(client.post("/api/elsewhere", json={"name": "a"}))["code"] == "not_found"
    wrong = client.get(PATH)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    malformed = client.post("/api/quick/twelve", json={"name": "a"})
    assert malformed.status_code == 404 and error_of(malformed)["code"] == "not_found"


def test_errors_of_the_handler_are_answered_as_every_function_answers_them(client):
    throttled = client.post(PATH, json={"name": "slow"})
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    boom = client.post(PATH, json={"name": "boom"})
    assert boom.status_code == 500 and error_of(boom)["code"] == "internal"
    assert "secret internals" not in boom.text and "Traceback" not in boom.text


@pytest.mark.parametrize("header", ["Basic abc", "Bearer not-a-jwt"])
def test_a_malformed_token_is_401_even_where_signing_in_is_optional(client, header, monkeypatch,
                                                                   tmp_path):
    from local.platform import reset_caches
    from shared_lib.security import generate_signing_key

    generate_signing_key(tmp_path / "k.pem", tmp_path / "jwks.json")
    monkeypatch.setenv("STREAMFN_JWT_PUBLIC_KEYS_FILE", str(tmp_path / "jwks.json"))
    reset_caches()
    answer = client.post(PATH, json={"name": "ada"}, headers={"Authorization": header})
    if header.startswith("Basic"):  # not a bearer token: an anonymous caller
        assert answer.status_code == 202 and answer.json()["user"] is None
    else:
        assert answer.status_code == 401 and error_of(answer)["code"] == "invalid_token"


def test_health_and_metrics_answer_without_the_handler(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    client.post(PATH, json={"name": "ada"})
    page = client.get("/metrics")
    assert page.status_code == 200
    assert 'streamfn_requests_total{function="quick",route="/api/quick/{number}",status="202"}' \
        in page.text


def test_an_async_handler_cannot_ask_for_a_unit_of_work():
    from shared_lib.http import http_function

    with pytest.raises(AssertionError, match="uow"):
        @http_function("POST /api/never")
        async def never(uow) -> None:
            """Never registered."""


def test_functions_framework_serves_it_async_as_its_own_decorator_marks_it():
    """`functions-framework --target quick` (create_app) hands the function to its ASGI app,
    from the same registry entries functions_framework.aio.http would have written."""
    import flask
    import functions_framework
    from functions_framework import _function_registry as registry
    from functions_framework.aio import http

    assert not isinstance(functions_framework.create_app("quick", SOURCE), flask.Flask)

    @http
    async def reference(request) -> None:
        """Registered by functions-framework's own decorator."""

    assert registry.REGISTRY_MAP["quick"] == registry.REGISTRY_MAP["reference"]
    assert {"quick", "reference"} <= registry.ASGI_FUNCTIONS


def test_a_module_with_async_functions_leaves_the_asgi_stack_to_their_servers():
    """The WSGI functions declared beside get-stream and record-view start without Starlette."""
    from tests.unit.fresh import loaded_after

    assert loaded_after("import functions.streams, functions.analytics, functions.chat",
                        ("functions_framework.aio", "starlette", "uvicorn")) == []
