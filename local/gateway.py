"""The local gateway: every catalog route to its function, like Emissary's Mappings would.

Two listeners share it. The public one routes the public API and never `/internal/`; the
internal one carries what a cluster keeps inside: the broker's ingress at `POST /` and the
internal functions. Unknown routes are 404 and known paths with another method are 405,
both with JSON bodies. The gateway appends the peer's address to X-Forwarded-For, as a
proxy in front of a function would.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Callable

from shared_lib.catalog import FunctionSpec, match_route

WSGIApp = Callable


def _error(start_response, status: int, code: str, message: str, headers=()) -> list[bytes]:
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers],
    )
    return [body]


class Gateway:
    def __init__(
        self,
        specs: list[FunctionSpec],
        upstream: Callable[[FunctionSpec], WSGIApp],
        *,
        internal: bool = False,
        root: WSGIApp | None = None,
    ) -> None:
        self.specs = [s for s in specs if s.kind == "http" and s.internal == internal]
        self.upstream = upstream
        self.internal = internal
        self.root = root

    def routes(self) -> list[tuple[str, str, str]]:
        """(method, path, function) for every route served: the table tests compare."""
        return sorted((s.method, s.path, s.name) for s in self.specs)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if self.root is not None and path == "/":
            return self.root(environ, start_response)
        if not self.internal and path.startswith("/internal/"):
            return _error(start_response, 404, "not_found", "No such route.")
        spec, allowed = match_route(self.specs, method, path)
        if spec is None:
            if allowed:
                return _error(start_response, 405, "method_not_allowed",
                              "That method is not allowed here.", [("Allow", ", ".join(allowed))])
            return _error(start_response, 404, "not_found", "No such route.")
        peer = environ.get("REMOTE_ADDR", "")
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        environ["HTTP_X_FORWARDED_FOR"] = f"{forwarded}, {peer}" if forwarded else peer
        return self.upstream(spec)(environ, start_response)


def routes_from_mappings(mappings: list[dict]) -> list[tuple[str, str, str]]:
    """(method, path regex, function) for each Emissary Mapping: the route table a gateway
    built from the rendered manifests would serve."""
    routes = []
    for mapping in mappings:
        spec = mapping["spec"]
        name = spec["host_rewrite"].split(".", 1)[0]
        routes.append((spec["method"], spec["prefix"], name))
    return sorted(routes)
