"""The web app's link to the platform, and the static site the local gateway serves."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from local.web import StaticSite, generated


@pytest.mark.parametrize("path", sorted(generated(), key=str), ids=lambda p: p.name)
def test_the_apps_api_document_and_categories_match_the_platform(path):
    """The client is typed from web/openapi.json: a route or field changed in the catalog
    without `python -m local.web --api` fails here, before a browser ever sees it."""
    assert path.read_text() == generated()[path], f"{path.name} is stale: run python -m local.web --api"


@pytest.fixture
def site(tmp_path):
    (tmp_path / "index.html").write_text("<app-root></app-root>")
    (tmp_path / "main-ABC123.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("no")
    return Client(StaticSite(tmp_path))


def test_deep_links_get_the_app_so_a_reload_keeps_the_page(site):
    answer = site.get("/streams/5bdd3d7e")
    assert answer.status_code == 200 and answer.text == "<app-root></app-root>"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert answer.headers["Content-Type"].startswith("text/html")


def test_hashed_bundles_are_cached_for_good(site):
    answer = site.get("/main-ABC123.js")
    assert answer.text == "console.log(1)"
    assert "immutable" in answer.headers["Cache-Control"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_paths_outside_the_build_are_never_served(site):
    for path in ("/../secret.txt", "/%2e%2e/secret.txt"):
        assert site.get(path).text == "<app-root></app-root>"
