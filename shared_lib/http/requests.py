"""Reading a request: the body (capped), JSON validated into a model, the query string,
the caller's address behind trusted proxies, and the bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import flask
from pydantic import BaseModel, ConfigDict

from shared_lib import errors
from shared_lib.config import get_settings

if TYPE_CHECKING:
    import starlette.requests
    from pydantic import ValidationError


class Headers(Protocol):
    """A request's headers, looked up by name in any case (Flask's and Starlette's)."""

    def get(self, key: str, default: str, /) -> str: ...


class Shape(BaseModel):
    """Base of every request and answer shape: its validator is built when first used
    (pydantic's `defer_build`), so a cold start builds only the shapes its function uses."""

    model_config = ConfigDict(defer_build=True)


class Request(Shape):
    """Base of request bodies: unknown fields are refused, strings are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=False)


@dataclass(frozen=True)
class Client:
    """Who is calling, as far as the network tells: the address behind trusted proxies."""

    address: str


def read_body(request: flask.Request) -> bytes:
    limit = _declared_within_limit(request.content_length)
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise errors.PayloadTooLarge(details=[{"limit_bytes": limit}])
    return data


async def read_body_async(request: starlette.requests.Request) -> bytes:
    """The body of an ASGI request, read no further than the limit."""
    declared = request.headers.get("content-length", "")
    limit = _declared_within_limit(int(declared) if declared.isdigit() else None)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise errors.PayloadTooLarge(details=[{"limit_bytes": limit}])
    return bytes(data)


def _declared_within_limit(length: int | None) -> int:
    """The body limit, once a declared length is known not to pass it."""
    limit = get_settings().max_body_bytes
    if length is not None and length > limit:
        raise errors.PayloadTooLarge(details=[{"limit_bytes": limit}])
    return limit


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    # Never echo the input: it may be a password.
    return [
        {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
        for item in exc.errors(include_url=False, include_input=False)
    ]


def validate(model: Any, data: Any) -> Any:
    """A model from already-parsed data (query strings): lax, so "5" is a number."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.InvalidInput(details=_validation_details(exc)) from None


def parse_json_body(request: flask.Request, model: Any) -> Any:
    return parse_json(read_body(request), request.mimetype, model)


def parse_json(raw: bytes, content_type: str | None, model: Any) -> Any:
    """A model from a JSON body, validated in JSON mode: strict about types (no "5" for
    5), while ids and times arrive as the strings JSON has for them."""
    from pydantic import ValidationError

    mimetype = (content_type or "").partition(";")[0].strip().lower()
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise errors.UnsupportedMediaType()
    if not raw.strip():
        raise errors.InvalidInput("A JSON request body is required.")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise errors.InvalidInput("The request body is not valid JSON.") from None
        raise errors.InvalidInput(details=_validation_details(exc)) from None


def client_of(headers: Headers, peer: str | None) -> Client:
    """The caller's address: the entry the last trusted proxy appended, else the peer."""
    hops = get_settings().trusted_proxy_hops
    forwarded = [part.strip() for part in headers.get("X-Forwarded-For", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if hops and forwarded:
        return Client(address=forwarded[-min(hops, len(forwarded))])
    return Client(address=peer or "unknown")


def bearer_token(headers: Headers) -> str | None:
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
