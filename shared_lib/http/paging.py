"""Opaque cursors for keyset pagination, and the query model every list shares.

A cursor is the sort key of the last item served, base64url-encoded JSON: the next page
starts strictly after it, so page 1,000 costs what page 1 costs. Clients must treat it as
opaque; a tampered one is a 400, never a 500.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared_lib.errors import InvalidInput
from shared_lib.http.storable import problem

T = TypeVar("T")


class PageQuery(BaseModel):
    """`limit` and `cursor`, from the query string (so numbers arrive as text)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=500)

    def after(self, *types: Callable[[str], Any]) -> tuple[Any, ...] | None:
        """Where this page starts: the cursor's sort key, each part converted by its type."""
        return decode_cursor(self.cursor, *types)

    @property
    def fetch(self) -> int:
        """How many rows to ask for: one more than a page, to know whether another follows."""
        return self.limit + 1

    def page(self, rows: list[T], key: Callable[[T], tuple[Any, ...]]) -> tuple[list[T], str | None]:
        """The rows of this page, and the cursor of the next one if any."""
        return page_of(rows, self.limit, key)


def encode_cursor(*key: Any) -> str:
    raw = json.dumps([str(part) for part in key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None, *types: Callable[[str], Any]) -> tuple[Any, ...] | None:
    """The sort key a cursor carries, each part converted by its type; None for page 1."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, list) or len(key) != len(types):
            raise ValueError
        parts = tuple(convert(str(part)) for convert, part in zip(types, key, strict=False))
        if any(problem(part) for part in parts):
            raise ValueError
        return parts
    except (ValueError, TypeError, OverflowError):
        raise InvalidInput("The cursor is not valid.", details=[{"field": "cursor"}]) from None


def page_of(rows: list[T], limit: int,
            key: Callable[[T], tuple[Any, ...]]) -> tuple[list[T], str | None]:
    """Trim a query's `limit + 1` rows to a page, with the cursor of the next one if any."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(*key(rows[-1]))


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
