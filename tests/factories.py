"""What tests make, made in one place: users (as the API registers them, or as rows), and
CloudEvents, built with the cloudevents SDK in binary mode as the code builds them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

PASSWORD = "correct horse"
PING = "dev.knative.sources.ping"


def unique(prefix: str = "u") -> str:
    """A fresh username: tests share one database, and never one user."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def registration(name: str | None = None, *, password: str = PASSWORD, **extra: Any) -> dict:
    """A register body for `name` (a fresh one by default)."""
    name = name or unique()
    return {"username": name, "email": f"{name}@example.com", "password": password, **extra}


def new_user(call: Any, prefix: str = "u", **extra: Any) -> tuple[str, str]:
    """Register a user through the register function: (username, access token)."""
    body = registration(unique(prefix), **extra)
    response = call("register", json=body)
    assert response.status_code == 201, response.get_json()
    return body["username"], response.get_json()["access_token"]


def cloudevent(type: str, data: Any = None, *, source: str = "/tests", subject: str | None = None,
               id: str | None = None, **extensions: str) -> tuple[dict[str, str], bytes]:
    """A binary-mode CloudEvent: its headers (ce-*, Content-Type) and its JSON body."""
    attributes = {"type": type, "source": source, "datacontenttype": "application/json",
                  **({"id": id} if id else {}), **({"subject": subject} if subject else {}),
                  **extensions}
    headers, body = to_binary(CloudEvent(attributes, {} if data is None else data))
    return dict(headers), body or b""


def ping(schedule: str) -> dict[str, str]:
    """The headers of a PingSource firing for the scheduled function `schedule`."""
    headers, _ = cloudevent(PING, source=f"/apis/v1/namespaces/streamfn/pingsources/{schedule}")
    return headers


def stream_event(kind: str, stream_id: str, *, id: str | None = None,
                 **data: Any) -> tuple[dict[str, str], str]:
    """dev.streamfn.stream.KIND about `stream_id` from the ingest tier: (headers, body)."""
    headers, _ = cloudevent(f"dev.streamfn.stream.{kind}", source="/rtmp-ingest/t",
                            subject=stream_id, id=id)
    return headers, json.dumps({"stream_id": stream_id, **data})
