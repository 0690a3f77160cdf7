"""The HTTP contract every function inherits from shared_lib.http's decorators."""

from __future__ import annotations

import json
from pathlib import Path

import functions_framework
import pytest

SOURCE = str(Path(__file__).with_name("sample_functions.py"))


def client(target: str):
    return functions_framework.create_app(target, SOURCE).test_client()


def error_of(response) -> dict:
    assert response.content_type == "application/json"
    return response.get_json()["error"]


def test_valid_body_and_path_parameter_reach_the_handler():
    response = client("greet").post("/api/greetings/abc", json={"name": "ada"})
    assert response.status_code == 201
    assert response.get_json() == {"hello": "ada", "slug": "abc"}


def test_malformed_json_is_400():
    response = client("greet").post(
        "/api/greetings/a", data=b"{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_input"


def test_wrong_content_type_is_415():
    response = client("greet").post("/api/greetings/a", data="name=ada", content_type="text/plain")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_two_megabyte_body_is_413():
    body = json.dumps({"name": "x" * 2_000_000})
    response = client("greet").post("/api/greetings/a", data=body, content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_unknown_path_is_404_and_wrong_method_is_405():
    app = client("greet")
    missing = app.post("/api/elsewhere", json={"name": "ada"})
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    wrong = app.get("/api/greetings/a")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    assert error_of(wrong)["code"] == "method_not_allowed"


def test_validation_errors_name_the_field_without_echoing_the_input():
    response = client("greet").post("/api/greetings/a", json={"name": "", "extra": "hunter22"})
    assert response.status_code == 400
    details = error_of(response)["details"]
    assert {d["field"] for d in details} == {"name", "extra"}
    assert "hunter22" not in response.get_data(as_text=True)


def test_wrong_types_are_refused_not_coerced():
    response = client("greet").post("/api/greetings/a", json={"name": 12345})
    assert response.status_code == 400


def test_a_password_over_72_bytes_is_refused_not_truncated():
    response = client("greet").post("/api/greetings/a", json={"name": "a", "password": "é" * 37})
    assert response.status_code == 400
    assert error_of(response)["code"] == "password_too_long"


def test_an_unexpected_error_is_a_json_500_without_internals():
    response = client("boom").get("/api/boom")
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_throttled_carries_retry_after():
    response = client("throttled").get("/api/throttled")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


def test_domain_conflict_is_409():
    response = client("conflict").get("/api/conflict")
    assert response.status_code == 409
    assert error_of(response)["message"] == "Already there."


def test_reply_sets_status_and_headers():
    response = client("teapot").get("/api/teapot")
    assert response.status_code == 202 and response.headers["X-Extra"] == "1"


def test_health_probe_answers_without_touching_the_handler():
    response = client("boom").get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_every_request_is_counted_on_the_process_metrics_page():
    app = client("greet")
    app.post("/api/greetings/m", json={"name": "ada"})
    app.post("/api/greetings/m", data=b"{", content_type="application/json")
    page = app.get("/metrics")
    assert page.status_code == 200 and page.mimetype == "text/plain"
    text = page.get_data(as_text=True)
    route = 'function="greet",route="/api/greetings/{slug}"'
    assert f'streamfn_requests_total{{{route},status="201"}}' in text
    assert f'streamfn_requests_total{{{route},status="400"}}' in text
    assert f"streamfn_request_duration_seconds_count{{{route}}}" in text


@pytest.mark.parametrize("header", ["", "Basic abc", "Bearer", "Bearer not-a-jwt"])
def test_missing_or_malformed_credentials_are_401(header, monkeypatch, tmp_path):
    from local.platform import reset_caches
    from shared_lib.security import generate_signing_key

    generate_signing_key(tmp_path / "k.pem", tmp_path / "jwks.json")
    monkeypatch.setenv("STREAMFN_JWT_PUBLIC_KEYS_FILE", str(tmp_path / "jwks.json"))
    reset_caches()
    app = functions_framework.create_app("me", "functions/accounts.py").test_client()
    response = app.get("/api/auth/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert error_of(response)["code"] in {"not_authenticated", "invalid_token"}


def test_typed_path_parameters_arrive_converted():
    thing = "7d0c3f9e-2b4c-4b8a-9f1e-0a6c1d2e3f40"
    response = client("part").get(f"/api/things/{thing}/parts/12")
    assert response.status_code == 200
    assert response.get_json() == {"id": thing, "number": 12, "types": ["UUID", "int"]}


@pytest.mark.parametrize(("path", "noun"), [
    ("/api/things/not-a-uuid/parts/1", "thing"),
    ("/api/things/7d0c3f9e-2b4c-4b8a-9f1e-0a6c1d2e3f40/parts/-1", "part"),
    ("/api/things/7d0c3f9e-2b4c-4b8a-9f1e-0a6c1d2e3f40/parts/1x", "part"),
    ("/api/things/7d0c3f9e-2b4c-4b8a-9f1e-0a6c1d2e3f40/parts/99999999999999999999", "part"),
    ("/api/things/7d0c3f9e-2b4c-4b8a-9f1e-0a6c1d2e3f40/parts/%D9%A3", "part"),
])
def test_a_malformed_typed_path_parameter_is_a_404_naming_the_resource(path, noun):
    response = client("part").get(path)
    assert response.status_code == 404
    assert error_of(response)["message"] == f"No such {noun}."


def test_the_public_surface_of_shared_lib_http_is_what_functions_import():
    """functions/ import these names from shared_lib.http; anything else there is private,
    and a change to this list is a change to every function's contract."""
    import shared_lib.http as http

    assert sorted(http.__all__) == [
        "Cached", "Client", "Page", "PageQuery", "Reply", "Request", "ServerEvent",
        "event_function", "http_function", "scheduled_function", "sse_function",
    ]
    public = {name for name in vars(http) if not name.startswith("_")}
    assert public - set(http.__all__) <= {
        "aio", "annotations", "answers", "auth", "functions", "paging", "paths", "registration",
        "requests",
        "responses", "storable", "openapi", "sse", "work",
    }, "shared_lib/http/__init__.py re-exports, and defines nothing of its own"


def test_functions_import_the_pipeline_only_through_its_public_surface():
    """(The OpenAPI builder is not the pipeline: only the openapi function imports it.)"""
    root = Path(__file__).resolve().parents[4] / "functions"
    reaching_in = [f"{module.name}: {line.strip()}" for module in sorted(root.glob("*.py"))
                   for line in module.read_text().splitlines()
                   if "from shared_lib.http." in line and "shared_lib.http.openapi" not in line]
    assert reaching_in == []
