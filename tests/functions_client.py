"""A test client that calls catalog functions through functions-framework's `create_app`."""

from __future__ import annotations

import functools

import functions_framework

from functions import load_catalog
from local.services import ROOT
from shared_lib.catalog import EVENT, SCHEDULE


@functools.cache
def _app(name: str):
    spec = next(s for s in load_catalog() if s.name == name)
    return functions_framework.create_app(spec.target, str(ROOT / spec.source))


def sender_token(name: str) -> str:
    """A token of the test profile's issuer for an event function, as its Trigger presents."""
    from local.settings import sender_tokens, test_profile
    from shared_lib.events.sender import function_audience

    return sender_tokens(test_profile()).issuer.mint(
        subject="system:serviceaccount:streamfn:broker-filter", audience=function_audience(name))


class FunctionClient:
    """Calls a function in-process. An event function gets its sender's token, as the
    broker presents it, unless the call gives an Authorization header of its own."""

    def __call__(self, name: str, method: str | None = None, path: str | None = None, *,
                 json=None, token: str | None = None, headers: dict | None = None,
                 cookies: dict | None = None, **kwargs):
        spec = next(s for s in load_catalog() if s.name == name)
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        elif spec.kind in (EVENT, SCHEDULE) and "Authorization" not in all_headers:
            all_headers["Authorization"] = f"Bearer {sender_token(name)}"
        client = _app(name).test_client()
        for cookie, value in (cookies or {}).items():
            client.set_cookie(cookie, value, path=spec.path)
        response = client.open(path or spec.path, method=method or spec.method, json=json,
                               headers=all_headers, buffered=True, **kwargs)
        # buffered: the body is read and the response closed, as a WSGI server does once
        # the last byte is out, which is when a function sends the events it committed.
        return response
