"""What PostgreSQL can store, checked before a value reaches the driver.

A string with NUL, an integer outside bigint, or a time that does not fit once turned to
UTC would fail inside the driver, mid-statement; refused here instead, with a 400 that
names the field. Request bodies, query strings, path parameters and cursors all pass
through `refuse_unstorable`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from shared_lib.errors import InvalidInput

BIGINT = (-(2**63), 2**63 - 1)


def problem(value: Any) -> str | None:
    """Why PostgreSQL cannot store `value` (a scalar), or None."""
    if isinstance(value, str):
        return "text may not contain NUL characters" if "\x00" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if BIGINT[0] <= value <= BIGINT[1] else "the number is out of range"
    if isinstance(value, datetime):
        try:
            value.astimezone(UTC) if value.tzinfo else value
        except OverflowError:
            return "the time is out of range"
        return None
    if isinstance(value, date):
        return None
    return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(key, path)
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}.{index}" if path else str(index))
    else:
        reason = problem(value)
        if reason:
            yield path, reason


def refuse_unstorable(value: Any, field: str = "") -> None:
    """400 naming each field whose value PostgreSQL could not store."""
    details = [{"field": path or field, "message": reason} for path, reason in _walk(value, field)]
    if details:
        raise InvalidInput("The request holds a value that cannot be stored.", details=details)
