"""What the API says about itself: the OpenAPI document."""

from __future__ import annotations

import functools

from shared_lib.http import http_function


@functools.cache
def _document() -> dict:
    from functions import load_catalog
    from shared_lib.http.openapi import build_document

    return build_document(load_catalog())


@http_function("GET /api/openapi.json")
def openapi() -> dict:
    """The OpenAPI 3.1 document of every public route."""
    return _document()
