"""The front door's nginx config, rendered from the catalog."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from functions import load_catalog
from local.frontdoor import FrontDoorConfig, render
from local.locations import ERRORS
from local.routes import RouteTable


@pytest.fixture(scope="module")
def specs():
    return load_catalog()


@pytest.fixture
def config(specs, tmp_path):
    (tmp_path / "site").mkdir()
    return FrontDoorConfig(
        api_listen="127.0.0.1:1", internal_listen="127.0.0.1:2",
        upstreams={s.name: 10000 + i for i, s in enumerate(specs)},
        public=RouteTable.from_catalog(specs), internal=RouteTable.from_catalog(specs, internal=True),
        ingress="127.0.0.1:3", home=tmp_path, site=tmp_path / "site",
        streams=[s.path_pattern.pattern for s in specs if s.stream], streams_per_address=7)


def test_nginx_accepts_the_rendered_config(config, tmp_path):
    for path in ("run", "logs"):
        (tmp_path / path).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(render(config))
    checked = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(conf),
                              "-e", str(tmp_path / "logs" / "error.log")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_the_public_map_routes_in_the_tables_order_and_never_to_internal_functions(config):
    text = render(config)
    public = text[text.index("$public_function {"):text.index("}", text.index("$public_function {"))]
    routed = re.findall(r'"~\^(\w+) (\S+)" "fn-([\w-]+)"', public)
    assert [(m, f) for m, _, f in routed] == [(r.method, r.function) for r in config.public.routes]
    assert "authorize-publish" not in {f for _, _, f in routed}
    internal = text[text.index("$internal_function {"):]
    assert '"fn-authorize-publish"' in internal[:internal.index("}")]


def test_every_error_nginx_makes_is_the_api_json_error_body(config):
    text = render(config)
    for status, (code, _) in ERRORS.items():
        body = re.search(rf"return {status} '(.*)';", text).group(1)
        assert json.loads(body)["error"]["code"] == code
    assert "error_page 494 =431" in text  # nginx's own code for a header too large


def test_upstream_connections_close_before_the_function_scales_to_zero(config):
    config.upstream_keepalive_seconds = 7
    text = render(config)
    assert text.count("keepalive_timeout 7s;") == len(config.upstreams)


def test_only_event_streams_are_capped_per_address(config):
    """One client address holds at most `streams_per_address` open event streams (429 past
    it, as JSON); no other route is limited that way, and 0 means no cap."""
    conf = render(config)
    capped = re.findall(r'location ~ "([^"]+)" \{\n\s+limit_conn streams 7;', conf)
    assert capped == ["^/api/chat/([^/]+)/events$"]
    assert conf.count("limit_conn streams") == 1
    assert json.loads(re.search(r"return 429 '(.+)';", conf)[1])["error"]["code"] == "too_many_streams"
    config.streams_per_address = 0
    assert "limit_conn streams" not in render(config)
