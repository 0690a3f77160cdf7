"""The local gateway: every catalog route to its function, like Emissary's Mappings would.
The public listener also serves the web app (`site`) for any GET outside /api/.

Two listeners share it. The public one routes the public API and never `/internal/`; the
internal one carries what a cluster keeps inside: the broker's ingress at `POST /` and the
internal functions. Unknown routes are 404 and known paths with another method are 405,
both with JSON bodies. The gateway appends the peer's address to X-Forwarded-For, as a
proxy in front of a function would.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Callable

from shared_lib.catalog import FunctionSpec

WSGIApp = Callable


def _error(start_response, status: int, code: str, message: str, headers=()) -> list[bytes]:
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers],
    )
    return [body]


class Gateway:
    """Routes by a table of (method, path regex, function), most specific first. Built from
    the catalog (`make dev`), or from the rendered Emissary Mappings (`from_mappings`), which
    a test holds to the same table."""

    def __init__(
        self,
        specs: list[FunctionSpec],
        upstream: Callable[[FunctionSpec], WSGIApp],
        *,
        internal: bool = False,
        root: WSGIApp | None = None,
        site: WSGIApp | None = None,
        table: list[tuple[str, str, FunctionSpec, int]] | None = None,
    ) -> None:
        served = [s for s in specs if s.kind == "http" and s.internal == internal]
        if table is None:
            table = [(s.method, s.path_pattern.pattern, s, 10 if "{" not in s.path else 0)
                     for s in served]
        # Higher precedence first: a literal path beats a parameter.
        ordered = sorted(table, key=lambda row: -row[3])
        self.table = [(method, re.compile(regex), spec) for method, regex, spec, _ in ordered]
        self.upstream = upstream
        self.internal = internal
        self.root = root
        self.site = site

    @classmethod
    def from_mappings(cls, mappings: list[dict], specs: list[FunctionSpec],
                      upstream: Callable[[FunctionSpec], WSGIApp]) -> "Gateway":
        by_name = {spec.name: spec for spec in specs}
        table = []
        for mapping in mappings:
            route = mapping["spec"]
            name = route["host_rewrite"].split(".", 1)[0]
            table.append((route["method"], route["prefix"], by_name[name], route.get("precedence", 0)))
        return cls(specs, upstream, table=table)

    def routes(self) -> list[tuple[str, str, str]]:
        """(method, path regex, function) for every route served."""
        return sorted((method, pattern.pattern, spec.name) for method, pattern, spec in self.table)

    def match(self, method: str, path: str) -> tuple[FunctionSpec | None, list[str]]:
        allowed = []
        for route_method, pattern, spec in self.table:
            if pattern.match(path):
                if route_method == method:
                    return spec, []
                allowed.append(route_method)
        return None, allowed

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if self.root is not None and path == "/":
            return self.root(environ, start_response)
        if not self.internal and path.startswith("/internal/"):
            return _error(start_response, 404, "not_found", "No such route.")
        if self.site is not None and method in ("GET", "HEAD") and not path.startswith("/api/"):
            return self.site(environ, start_response)
        spec, allowed = self.match(method, path)
        if spec is None:
            if allowed:
                return _error(start_response, 405, "method_not_allowed",
                              "That method is not allowed here.", [("Allow", ", ".join(allowed))])
            return _error(start_response, 404, "not_found", "No such route.")
        peer = environ.get("REMOTE_ADDR", "")
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        environ["HTTP_X_FORWARDED_FOR"] = f"{forwarded}, {peer}" if forwarded else peer
        return self.upstream(spec)(environ, start_response)
