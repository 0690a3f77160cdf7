"""The routing table the front door serves: (method, path regex, function), most specific
first. Built from the catalog, or from the rendered Emissary Mappings (`from_mappings`),
which a test holds to the same table, so the cluster and one machine route alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared_lib.catalog import HTTP, FunctionSpec


@dataclass(frozen=True)
class Route:
    method: str
    regex: str
    function: str
    precedence: int

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.regex)


class RouteTable:
    def __init__(self, routes: list[Route]) -> None:
        # Higher precedence first: a literal path beats a parameter.
        self.routes = sorted(routes, key=lambda r: (-r.precedence, r.regex, r.method))

    @classmethod
    def from_catalog(cls, specs: list[FunctionSpec], *, internal: bool = False) -> RouteTable:
        return cls([Route(s.method, s.path_pattern.pattern, s.name, 10 if "{" not in s.path else 0)
                    for s in specs if s.kind == HTTP and s.internal == internal])

    @classmethod
    def from_mappings(cls, mappings: list[dict]) -> RouteTable:
        return cls([Route(m["spec"]["method"], m["spec"]["prefix"],
                          m["spec"]["host_rewrite"].split(".", 1)[0], m["spec"].get("precedence", 0))
                    for m in mappings])

    def rows(self) -> list[tuple[str, str, str]]:
        """(method, path regex, function) for every route, sorted."""
        return sorted((r.method, r.regex, r.function) for r in self.routes)

    def match(self, method: str, path: str) -> tuple[str | None, list[str]]:
        """The function for a request, or None and the methods the path allows."""
        allowed = []
        for route in self.routes:
            if route.pattern.match(path):
                if route.method == method:
                    return route.function, []
                allowed.append(route.method)
        return None, allowed

    def allowed(self) -> dict[str, list[str]]:
        """Each path regex and the methods it takes, in match order."""
        methods: dict[str, list[str]] = {}
        for route in self.routes:
            methods.setdefault(route.regex, []).append(route.method)
        return methods
