"""The catalog: every function declared once, routed as DESIGN.md §3 says."""

from __future__ import annotations

from functions import load_catalog
from shared_lib.catalog import route_pattern

AUTH_ROUTES = {
    ("POST", "/api/auth/register", "register"),
    ("POST", "/api/auth/login", "login"),
    ("POST", "/api/auth/refresh", "refresh"),
    ("POST", "/api/auth/logout", "logout"),
    ("GET", "/api/auth/me", "me"),
    ("GET", "/api/auth/jwks.json", "jwks"),
    ("GET", "/api/openapi.json", "openapi"),
}


def test_the_auth_routes_of_the_design_are_in_the_catalog():
    routes = {(s.method, s.path, s.name) for s in load_catalog() if s.kind == "http"}
    assert AUTH_ROUTES <= routes


def test_names_are_unique_and_sources_exist():
    specs = load_catalog()
    assert len({s.name for s in specs}) == len(specs)
    from local.services import ROOT

    assert all((ROOT / s.source).exists() for s in specs)


def test_route_patterns_capture_parameters():
    match = route_pattern("/api/users/{username}/follow").match("/api/users/ada/follow")
    assert match and match["username"] == "ada"
    assert not route_pattern("/api/users/{username}").match("/api/users/ada/follow")


def test_a_literal_route_wins_over_a_parameter():
    from shared_lib.catalog import FunctionSpec

    specs = [
        FunctionSpec(name="get", target="get", module="m", kind="http", method="POST",
                     path="/api/streams/{id}"),
        FunctionSpec(name="key", target="key", module="m", kind="http", method="POST",
                     path="/api/streams/key"),
    ]
    from local.routes import RouteTable

    table = RouteTable.from_catalog(specs)
    assert table.match("POST", "/api/streams/key")[0] == "key"
    function, allowed = table.match("DELETE", "/api/streams/key")
    assert function is None and set(allowed) == {"POST"}


def test_openapi_lists_every_public_route_with_resolvable_schemas():
    from shared_lib.http.openapi import build_document

    specs = load_catalog()
    document = build_document(specs)
    assert document["openapi"].startswith("3.1")
    public = {(s.path, s.method.lower()) for s in specs if s.kind == "http" and not s.internal}
    listed = {(p, m) for p, ops in document["paths"].items() for m in ops}
    assert listed == public
    text = str(document)
    for name in document["components"]["schemas"]:
        assert f"#/components/schemas/{name}" in text or name == "Error"
    refs = {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}
    assert refs <= set(document["components"]["schemas"])
