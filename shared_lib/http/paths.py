"""Path parameters: a handler's annotation says what a segment is (`id: uuid.UUID`, `letter_id:
int`), and a segment that is not one is a 404 naming the resource, never a 400 or a 500."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from typing import Any

from shared_lib import errors
from shared_lib.http.storable import refuse_unstorable

BIGINT = 2**63 - 1
Converters = dict[str, tuple[Callable[[str], Any], str]]


def _as_uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def _as_id(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > BIGINT:
        raise ValueError(value)
    return int(value)


CONVERTERS: dict[Any, Callable[[str], Any]] = {
    uuid.UUID: _as_uuid, "uuid.UUID": _as_uuid, "UUID": _as_uuid, int: _as_id, "int": _as_id,
}


def path_converters(handler: Callable[..., Any], path: str) -> Converters:
    """For each typed path parameter: its converter, and what a malformed one is not found as
    (the path segment before it, singular: /api/streams/{id} -> "stream")."""
    segments = path.strip("/").split("/")
    converters = {}
    for name, parameter in inspect.signature(handler).parameters.items():
        convert = CONVERTERS.get(parameter.annotation)
        if convert is not None and f"{{{name}}}" in segments:
            index = segments.index(f"{{{name}}}")
            noun = segments[index - 1].removesuffix("s") if index else name
            converters[name] = (convert, noun.replace("-", " "))
    return converters


def path_parameters(match: dict[str, str], wants: set[str],
                    converters: Converters) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, raw in match.items():
        if name not in wants:
            continue
        if name in converters:
            convert, noun = converters[name]
            try:
                values[name] = convert(raw)
            except ValueError:
                raise errors.NotFound(f"No such {noun}.") from None
        else:
            values[name] = raw
    refuse_unstorable(values)
    return values


