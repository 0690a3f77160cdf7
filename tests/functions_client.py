"""A test client that calls catalog functions through functions-framework's `create_app`."""

from __future__ import annotations

import functools

import functions_framework

from local.services import ROOT
from shared_lib.catalog import load_catalog


@functools.cache
def _app(name: str):
    spec = next(s for s in load_catalog() if s.name == name)
    return functions_framework.create_app(spec.target, str(ROOT / spec.source))


class FunctionClient:
    def __call__(self, name: str, method: str | None = None, path: str | None = None, *,
                 json=None, token: str | None = None, headers: dict | None = None,
                 cookies: dict | None = None, **kwargs):
        spec = next(s for s in load_catalog() if s.name == name)
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        client = _app(name).test_client()
        for cookie, value in (cookies or {}).items():
            client.set_cookie(cookie, value, path=spec.path)
        return client.open(path or spec.path, method=method or spec.method, json=json,
                           headers=all_headers, **kwargs)
