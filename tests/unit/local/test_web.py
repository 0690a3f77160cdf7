"""The web app's link to the platform."""

from __future__ import annotations

import pytest

from local.web import generated


@pytest.mark.parametrize("path", sorted(generated(), key=str), ids=lambda p: p.name)
def test_the_apps_api_document_and_categories_match_the_platform(path):
    """The client is typed from web/openapi.json: a route or field changed in the catalog
    without `python -m local.web --api` fails here, before a browser ever sees it."""
    assert path.read_text() == generated()[path], f"{path.name} is stale: run python -m local.web --api"
