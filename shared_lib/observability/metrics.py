"""Request metrics of one process, and the Prometheus text format they are exposed in
(DESIGN.md §12).

The handler pipeline `observe`s every request: a count by function, route and status, and a
latency histogram by function and route. A process's `snapshot()` is plain JSON; on one
machine each worker writes it beside its activity report and the runtime sums them into
`/metrics` on the internal port (local/metrics.py). Standard library only: it is on every
request's path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # seconds


class Requests:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, str, int], int] = {}
        self.latency: dict[tuple[str, str], list[float]] = {}  # per bucket, then +Inf, sum
        self.version = 0

    def observe(self, function: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (function, route, status)
            self.counts[key] = self.counts.get(key, 0) + 1
            cells = self.latency.setdefault((function, route), [0.0] * (len(BUCKETS) + 2))
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    cells[index] += 1
                    break
            else:
                cells[len(BUCKETS)] += 1
            cells[-1] += seconds
            self.version += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": [[*key, count] for key, count in self.counts.items()],
                    "latency": [[*key, list(cells)] for key, cells in self.latency.items()]}


REQUESTS = Requests()


def observe(function: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.observe(function, route, status, seconds)


def merge(snapshots: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sum of several processes' snapshots."""
    counts: dict[tuple[str, str, int], int] = {}
    latency: dict[tuple[str, str], list[float]] = {}
    for snapshot in snapshots:
        for function, route, status, count in snapshot.get("requests", []):
            counts[(function, route, status)] = counts.get((function, route, status), 0) + count
        for function, route, cells in snapshot.get("latency", []):
            total = latency.setdefault((function, route), [0.0] * len(cells))
            for index, value in enumerate(cells):
                total[index] += value
    return {"requests": [[*key, count] for key, count in counts.items()],
            "latency": [[*key, cells] for key, cells in latency.items()]}


@dataclass
class Family:
    """One metric: its name, type, help text, and samples (suffix, labels, value)."""

    name: str
    kind: str
    help: str
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, suffix: str = "", **labels: str) -> None:
        self.samples.append((suffix, labels, value))


def request_families(snapshot: dict[str, Any]) -> list[Family]:
    requests = Family("streamfn_requests_total", "counter",
                      "Requests answered, by function, route (or event type) and status.")
    for function, route, status, count in sorted(snapshot.get("requests", [])):
        requests.add(count, function=function, route=route, status=str(status))
    latency = Family("streamfn_request_duration_seconds", "histogram",
                     "Time to answer a request, by function and route.")
    for function, route, cells in sorted(snapshot.get("latency", [])):
        running = 0.0
        for bound, count in zip((*BUCKETS, float("inf")), cells, strict=False):
            running += count
            latency.add(running, "_bucket", function=function, route=route,
                        le="+Inf" if bound == float("inf") else repr(bound))
        latency.add(cells[-1], "_sum", function=function, route=route)
        latency.add(running, "_count", function=function, route=route)
    return [requests, latency]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def exposition(families: Iterable[Family]) -> str:
    """The Prometheus text format (version 0.0.4) of these metrics."""
    out: list[str] = []
    for family in families:
        out.append(f"# HELP {family.name} {family.help}")
        out.append(f"# TYPE {family.name} {family.kind}")
        for suffix, labels, value in family.samples:
            rendered = ",".join(f'{name}="{_label(str(text))}"' for name, text in labels.items())
            out.append(f"{family.name}{suffix}{{{rendered}}} {_number(value)}" if rendered
                       else f"{family.name}{suffix} {_number(value)}")
    return "\n".join(out) + "\n"
