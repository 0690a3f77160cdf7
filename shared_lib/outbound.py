"""The outbound HTTP client (httpx): webhooks to their receivers, the ingest sidecar's calls
to the internal functions, the local broker's deliveries. (Events to the broker go on
shared_lib/events/sink.py's connections, one per thread: cheaper, and no lock shared by a
function's threads.)

Built on first use, never at import: httpx and its connection pool cost a cold start about
0.2 s, which only a function that sends pays, once. It keeps connections alive, reads no
proxy settings from the environment (a
stray HTTP_PROXY must not see webhook payloads) and follows no redirects (a receiver's
redirect is its answer, not an instruction).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

TIMEOUT_SECONDS = 5.0


@functools.cache
def client() -> httpx.Client:
    """The process's client. Tests build their own with httpx.MockTransport and pass it where
    a function takes a `client`."""
    import httpx

    return httpx.Client(trust_env=False, follow_redirects=False, timeout=TIMEOUT_SECONDS,
                        limits=httpx.Limits(max_connections=50, max_keepalive_connections=10))
