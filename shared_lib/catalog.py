"""The function catalog: every function, how it is triggered, and how it scales.

The decorators in shared_lib.http fill it as the modules under functions/ are imported;
`functions.load_catalog()` imports them all and returns the specs (from the package that
depends on this one, never the other way round). The local gateway, broker and
scheduler, the Knative manifests and the OpenAPI document are all read from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

HTTP, EVENT, SCHEDULE = "http", "event", "schedule"


@dataclass(frozen=True)
class Scaling:
    """Knative autoscaling hints. `concurrency` is both the autoscaler's target and the
    container's hard limit, and the process runs that many gunicorn threads."""

    min_scale: int = 0
    max_scale: int = 20
    concurrency: int = 20
    timeout_seconds: int = 30
    cpu: str = "100m"
    memory: str = "192Mi"
    memory_limit: str = "512Mi"
    # For long-lived responses (Server-Sent Events): how long the first byte may take, and
    # how long the response may go without a byte, before the platform gives up on it.
    response_start_timeout_seconds: int | None = None
    idle_timeout_seconds: int | None = None


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    target: str
    module: str
    kind: str
    method: str | None = None
    path: str | None = None
    event_type: str | None = None
    schedule: str | None = None
    auth: str = "none"
    body: Any = None
    query: Any = None
    response: Any = None
    status: int = 200
    summary: str = ""
    scaling: Scaling = field(default_factory=Scaling)
    # Reads or writes the media volume (recordings, replays) the ingest pod shares.
    media: bool = False
    # An async function served by functions-framework's ASGI mode (--asgi): uvicorn's event
    # loop, not a thread, holds each request (the players' hot path, event streams).
    asgi: bool = False
    # Its answer is a Server-Sent Events stream: long-lived, never buffered (an asgi one).
    stream: bool = False

    @property
    def source(self) -> str:
        """The source file, relative to the repository root, as FUNCTION_SOURCE wants it."""
        return f"functions/{self.module}.py"

    @property
    def internal(self) -> bool:
        return bool(self.path and self.path.startswith("/internal/"))

    @property
    def path_pattern(self) -> re.Pattern[str]:
        return route_pattern(self.path or "")


def route_pattern(path: str) -> re.Pattern[str]:
    """`/api/users/{username}` as a regex with one named group per parameter."""
    parts = re.split(r"\{(\w+)\}", path)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


_REGISTRY: dict[str, FunctionSpec] = {}


def register(spec: FunctionSpec) -> None:
    """Record a function. Loading a module twice (functions-framework does) replaces it."""
    existing = _REGISTRY.get(spec.name)
    if existing and existing.module != spec.module:
        raise ValueError(f"function {spec.name} is declared in {existing.module} and {spec.module}")
    _REGISTRY[spec.name] = spec


def registered(modules: list[str]) -> list[FunctionSpec]:
    """The specs declared in `modules` (their names under functions/), sorted by name."""
    return sorted((spec for spec in _REGISTRY.values() if spec.module in modules),
                  key=lambda spec: spec.name)
