"""Functions used only by the decorator tests: each exercises one part of the contract."""

from __future__ import annotations

import uuid

from pydantic import Field

from shared_lib.accounts.shapes import Password
from shared_lib.errors import Conflict, Throttled
from shared_lib.http import Client, Reply, http_function
from shared_lib.http.requests import Request
from shared_lib.security import AccessClaims


class Greeting(Request):
    name: str = Field(min_length=1, max_length=10)
    password: Password | None = None


@http_function("POST /api/greetings/{slug}", body=Greeting, status=201)
def greet(body: Greeting, slug: str) -> dict:
    return {"hello": body.name, "slug": slug}


@http_function("GET /api/boom")
def boom() -> dict:
    raise RuntimeError("secret internals that must not leak")


@http_function("GET /api/throttled")
def throttled() -> dict:
    raise Throttled(retry_after=7)


@http_function("GET /api/conflict")
def conflict() -> None:
    raise Conflict("Already there.")


@http_function("GET /api/teapot")
def teapot() -> Reply:
    return Reply({"ok": True}, status=202, headers={"X-Extra": "1"})


@http_function("GET /api/things/{id}/parts/{number}")
def part(id: uuid.UUID, number: int) -> dict:
    return {"id": str(id), "number": number, "types": [type(id).__name__, type(number).__name__]}


@http_function("POST /api/quick/{number}", body=Greeting, auth="optional", status=202)
async def quick(body: Greeting, number: int, user: AccessClaims | None, client: Client) -> Reply:
    """Served async: what the players' hot path inherits."""
    if body.name == "boom":
        raise RuntimeError("secret internals that must not leak")
    if body.name == "slow":
        raise Throttled(retry_after=7)
    return Reply({"hello": body.name, "number": number, "user": user.username if user else None,
                  "address": client.address}, status=202, headers={"X-Extra": "1"})
