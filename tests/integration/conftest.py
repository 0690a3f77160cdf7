"""Integration tests run against the real PostgreSQL and Redis of the `servers` fixture."""

from __future__ import annotations

import pytest

from tests.functions_client import FunctionClient


@pytest.fixture(autouse=True)
def _servers(servers):
    return servers


@pytest.fixture
def call():
    """Call a catalog function through functions-framework's own app, as its pod would."""
    return FunctionClient()
