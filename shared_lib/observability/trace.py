"""W3C Trace Context: one trace id from the front door through every function a request or
an event reaches (DESIGN.md §12).

Work that arrives (an HTTP request's `traceparent`, an event's `traceparent` extension
attribute, which binary mode carries as `ce-traceparent`) is the parent of a new span of
the same trace; work that arrives without one starts a trace. Everything sent while the
span is current (an event recorded in the outbox, a webhook) carries the span on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
INVALID_TRACE, INVALID_SPAN = "0" * 32, "0" * 16
HEADERS = ("ce-traceparent", "traceparent")  # an event's own context first


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None = None
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        """What this span's children receive."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def parse(traceparent: str | None) -> tuple[str, str, str] | None:
    """(trace id, parent span id, flags) of a valid version-00 `traceparent`; None otherwise."""
    match = TRACEPARENT.match((traceparent or "").strip().lower())
    if match is None or match.group(1) == INVALID_TRACE or match.group(2) == INVALID_SPAN:
        return None
    return match.group(1), match.group(2), match.group(3)


def _random_hex(bits: int) -> str:
    # Random, not secret (ids, as OpenTelemetry's own generator makes them): a syscall for
    # each from the OS's source cost ~5% of a record-view request. Never all zeros.
    return f"{random.getrandbits(bits) or 1:0{bits // 4}x}"


def child_of(traceparent: str | None) -> Span:
    """A new span under `traceparent`, or the first span of a new trace."""
    parent = parse(traceparent)
    if parent is None:
        return Span(trace_id=_random_hex(128), span_id=_random_hex(64))
    trace_id, parent_id, flags = parent
    return Span(trace_id=trace_id, span_id=_random_hex(64), parent_id=parent_id, flags=flags)


class Headers(Protocol):
    def get(self, key: str, /) -> str | None: ...


def incoming(headers: Headers | Mapping[str, str]) -> str | None:
    """The `traceparent` that work arriving with these headers (case-insensitive ones, as a
    request's are) continues."""
    for name in HEADERS:
        value = headers.get(name)
        if value and parse(value) is not None:
            return value
    return None


_current: ContextVar[Span | None] = ContextVar("streamfn_span", default=None)


def current() -> Span | None:
    return _current.get()


@contextmanager
def span(traceparent: str | None) -> Iterator[Span]:
    """Make a child of `traceparent` the current span for the block."""
    made = child_of(traceparent)
    token = _current.set(made)
    try:
        yield made
    finally:
        _current.reset(token)
