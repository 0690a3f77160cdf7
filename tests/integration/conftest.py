"""Integration tests run against the real PostgreSQL and Redis of the `servers` fixture."""

from __future__ import annotations

import os

import pytest

from tests.functions_client import FunctionClient


@pytest.fixture(autouse=True)
def _servers(servers, monkeypatch):
    """The real servers, and no broker: an e2e platform started earlier in the session set
    K_SINK, and integration tests must not depend on it (a test that wants a sink sets one)."""
    from shared_lib.config import get_settings

    if "K_SINK" in os.environ:
        monkeypatch.delenv("K_SINK")
        get_settings.cache_clear()
    return servers


@pytest.fixture
def call():
    """Call a catalog function through functions-framework's own app, as its pod would."""
    return FunctionClient()
