"""Tokens already verified, by their exact text, until they expire.

A client sends the same bearer token with every request for its lifetime (a viewer's access
token, a sender's service-account token with every event), and checking it again (PyJWT's
parsing, then an Ed25519 or RSA signature) was the largest cost of a cheap request after
the framework's. A token's signature, issuer and audience cannot change, so what was checked
once holds until its expiry, which is checked on every use; anything a request must know
fresh (a revocation) is still asked each time. Only tokens that verified are kept, at most
`size`; when full, the memo starts over.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

SIZE = 4096


class Verified(Generic[T]):
    def __init__(self, size: int = SIZE, clock: Callable[[], float] = time.time) -> None:
        self._size = size
        self._clock = clock
        self._entries: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> T | None:
        """What `token` verified to, if it did and has not expired since."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        valid_until, value = entry
        if self._clock() >= valid_until:
            with self._lock:
                self._entries.pop(token, None)
            return None
        return value

    def put(self, token: str, value: T, *, valid_until: float) -> T:
        with self._lock:
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[token] = (valid_until, value)
        return value
