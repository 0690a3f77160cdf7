"""Schemathesis over the whole OpenAPI document, through the front door: no input makes a
server error, for an anonymous caller or a logged-in one (every phase, stateful included).
A fixed seed keeps the suite repeatable; run `st` by hand with more examples to explore."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import register_user

EXAMPLES = 25
ANONYMOUS = Path(__file__).with_name("schemathesis-anonymous.toml")
LOGGED_IN = Path(__file__).with_name("schemathesis.toml")


@pytest.mark.parametrize("caller", ["anonymous", "logged in"])
def test_no_request_in_the_document_makes_a_server_error(platform, caller):
    api = platform.api_url
    st = str(Path(sys.executable).parent / "st")
    # Anonymous means anonymous: schemathesis would otherwise sign up through register.
    config = ["--config-file", str(ANONYMOUS if caller == "anonymous" else LOGGED_IN)]
    args = [st, *config, "run", f"{api}/api/openapi.json", "--url", api,
            "--checks", "not_a_server_error", "--max-examples", str(EXAMPLES), "--seed", "20261127",
            "--exclude-path", "/api/auth/logout", "--no-color"]
    if caller == "logged in":
        _, tokens = register_user(api, "fz")
        args += ["--header", f"Authorization: Bearer {tokens['access_token']}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    summary = done.stdout[-3000:]
    assert done.returncode == 0, summary
    if caller == "anonymous":
        assert "signed up via" not in done.stdout, "the anonymous run stays anonymous"
    assert " passed" in summary and "failed" not in summary.split("Test cases:")[-1], summary
