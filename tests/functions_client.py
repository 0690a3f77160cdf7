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


@functools.cache
def _asgi_client(name: str):
    """An async function's test client, kept open: one event loop serves all its calls,
    as one uvicorn worker's does."""
    import warnings

    from functions_framework.aio import create_asgi_app

    with warnings.catch_warnings():  # starlette would rather have httpx2; httpx serves
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    spec = next(s for s in load_catalog() if s.name == name)
    client = TestClient(create_asgi_app(spec.target, str(ROOT / spec.source)))
    client.__enter__()
    return client


class Answer:
    """An async function's answer (httpx's), read the way the tests read Flask's."""

    def __init__(self, response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.data = response.content

    def get_json(self):
        import json

        return json.loads(self.data) if self.data else None


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
        if spec.asgi:
            assert not cookies and not kwargs, "an async function takes no cookies"
            return Answer(_asgi_client(name).request(
                method or spec.method, path or spec.path, json=json, headers=all_headers))
        client = _app(name).test_client()
        for cookie, value in (cookies or {}).items():
            client.set_cookie(cookie, value, path=spec.path)
        response = client.open(path or spec.path, method=method or spec.method, json=json,
                               headers=all_headers, buffered=True, **kwargs)
        # buffered: the body is read and the response closed, as a WSGI server does once
        # the last byte is out, which is when a function sends the events it committed.
        return response
