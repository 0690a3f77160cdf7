"""Async functions, served by functions-framework's ASGI mode: uvicorn's event loop holds
each request, where the WSGI functions give each a thread.

Three kinds are served so, because an event loop answers a request for a fraction of the
CPU that gunicorn's threads and Flask take for the same request (bench/views.py):
- an `http_function` whose handler is a coroutine (`async def`): the players' hot path,
  record-view, which waits on Redis only;
- an `http_function` with a cache (answers.py): the home page and the stream page, whose
  kept answers go out from the loop while the handler, synchronous, computes the others in
  a thread with its unit of work;
- the Server-Sent Events streams (sse.py), which hold a connection for minutes without a
  thread.

    @http_function("POST /api/streams/{id}/views", body=ViewReport, auth="optional", ...)
    async def record_view(id: uuid.UUID, body: ViewReport, user: AccessClaims | None,
                          client: Client) -> ViewAccepted: ...

An async handler asks for no more than its body, path parameters, `user` and `client`: no
unit of work (PostgreSQL's session is synchronous). What it must do in PostgreSQL it does
in a thread (`asyncio.to_thread`). The contract is the WSGI pipeline's:
the same route and method checks, body limit, JSON validation, authentication (the
revocation check awaited on the loop), the same statuses and JSON error bodies, the same
span, log line and metrics.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from shared_lib import catalog, errors
from shared_lib.catalog import FunctionSpec
from shared_lib.http.auth import authenticate_async
from shared_lib.http.paths import path_converters, path_parameters
from shared_lib.http.registration import (
    HEALTH_PATH,
    METRICS_PATH,
    METRICS_TYPE,
    Handler,
    Observer,
    metrics_page,
    parameters_of,
)
from shared_lib.http.requests import client_of, parse_json, read_body_async, validate
from shared_lib.http.responses import INTERNAL_ERROR, as_known_error, error_answer, json_text
from shared_lib.http.storable import refuse_unstorable
from shared_lib.observability import trace

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from shared_lib.http.answers import Cached
    from shared_lib.security import AccessClaims

AsyncView = Callable[["Request"], Awaitable["Response"]]

# What an async handler may ask for, besides its path parameters.
ASYNC_PARAMETERS = {"body", "user", "client"}

log = logging.getLogger(__name__)


def json_answer(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return _json_bytes(json_text(payload).encode(), status, headers)


def _json_bytes(body: bytes, status: int, headers: dict[str, str] | None) -> Response:
    from starlette.responses import Response

    if not body:
        return Response(status_code=status, headers=headers)
    return Response(body, status, headers, media_type="application/json")


def error_json(error: errors.StreamfnError) -> Response:
    status, headers, body = error_answer(error)
    return json_answer(body, status, headers)


def routed(request: Request, spec: FunctionSpec, pattern: re.Pattern[str]) -> dict[str, str]:
    """The path's parameters, once the path and the method are the function's."""
    match = pattern.match(request.url.path)
    if match is None:
        raise errors.NotFound("No such route.")
    if request.method != spec.method:
        raise errors.MethodNotAllowed(allowed=[spec.method or ""])
    return match.groupdict()


async def arguments(request: Request, spec: FunctionSpec, given: dict[str, str], wants: set[str],
                    converters: dict[str, Any]) -> tuple[dict[str, Any], AccessClaims | None]:
    """A handler's arguments from the request, read as the WSGI functions read them: the
    path parameters, the caller (`user`, `client`), the validated body and query; and the
    caller's claims, for the unit of work's `account`."""
    if spec.body is None:
        await read_body_async(request)
    kwargs = path_parameters(given, wants, converters)
    user = await authenticate_async(request.headers, spec.auth)
    if "user" in wants:
        kwargs["user"] = user
    if "client" in wants:
        kwargs["client"] = client_of(request.headers, request.client.host if request.client else None)
    if spec.body is not None:
        raw = await read_body_async(request)
        kwargs["body"] = parse_json(raw, request.headers.get("content-type"), spec.body)
        refuse_unstorable(kwargs["body"])
    if spec.query is not None:
        # The first of a repeated parameter, as Flask's request.args gives it.
        kwargs["query"] = validate(spec.query, dict(reversed(request.query_params.multi_items())))
        refuse_unstorable(kwargs["query"])
    return kwargs, user


def async_view(spec: FunctionSpec, handler: Handler) -> AsyncView:
    """The request pipeline of an async `http_function`."""
    from shared_lib.http.functions import answer_of

    wants = parameters_of(handler)
    assert spec.path and spec.method, spec.name
    extra = wants - ASYNC_PARAMETERS - set(spec.path_pattern.groupindex)
    assert not extra, f"{spec.name}: an async handler cannot ask for {sorted(extra)}"
    assert spec.auth in {"none", "optional", "user"} and spec.query is None, spec.name
    pattern, converters = spec.path_pattern, path_converters(handler, spec.path)

    async def view(request: Request) -> Response:
        kwargs, _ = await arguments(request, spec, routed(request, spec, pattern), wants, converters)
        return json_answer(*answer_of(await handler(**kwargs), spec.status))

    return view


def cached_view(spec: FunctionSpec, handler: Handler, policy: Cached) -> AsyncView:
    """The pipeline of a cached GET (answers.py) with a synchronous handler: a kept answer
    is sent from the event loop; any other is computed by the handler in a thread, with
    its unit of work, as a WSGI function computes it."""
    from shared_lib.http.answers import Answers
    from shared_lib.http.functions import answer_of
    from shared_lib.http.work import deliver_now, pipeline, run

    wants = parameters_of(handler)
    assert spec.path and spec.method == "GET" and spec.auth == "none", spec.name
    extra = wants - {"query", "uow"} - set(spec.path_pattern.groupindex)
    assert not extra, f"{spec.name}: a cached handler cannot ask for {sorted(extra)}"
    pattern, converters = spec.path_pattern, path_converters(handler, spec.path)
    session, answers = pipeline(wants), Answers(policy)

    def compute(kwargs: dict[str, Any]) -> tuple[Any, int, dict[str, str] | None]:
        outgoing: list[Any] = []
        answer = answer_of(run(session, handler, kwargs, None, outgoing), spec.status)
        deliver_now(outgoing)  # a read sends none, as a rule (run sends an error's)
        return answer

    async def view(request: Request) -> Response:
        given = routed(request, spec, pattern)
        key = f"{request.url.path}?{request.url.query}"
        kept, version = answers.young(key, anonymous="authorization" not in request.headers), None
        if kept is None:
            version = await answers.version()
            kept = answers.current(key, version) if version is not None else None
        if kept is not None:
            return _json_bytes(kept, 200, {"Cache-Control": policy.header})
        kwargs, _ = await arguments(request, spec, given, wants, converters)
        payload, status, headers = await asyncio.to_thread(compute, kwargs)
        body = json_text(payload).encode()
        if version is not None:
            headers = {**(headers or {}), **answers.put(key, version, status, body)}
        return _json_bytes(body, status, headers)

    return view


def register_asgi(spec: FunctionSpec, handler: Handler, view: AsyncView) -> Handler:
    """Register an async function with functions-framework's ASGI mode and the catalog,
    inside the wrapper every request passes once: the health probe, the metrics page, the
    span, the log line and metrics, and every error answered as JSON."""

    async def answer(request: Request) -> Response:
        try:
            if request.url.path == HEALTH_PATH and request.method == "GET":
                return json_answer({"status": "ok"})
            return await view(request)
        except errors.StreamfnError as error:
            return error_json(error)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            known = as_known_error(exc)
            if known is not None:
                log.warning("%s: %s", spec.name, known.message)
                return error_json(known)
            log.exception("%s failed", spec.name)
            return json_answer(INTERNAL_ERROR, 500)

    @functools.wraps(handler)
    async def function(request: Request) -> Response:
        if request.url.path == HEALTH_PATH:
            return await answer(request)
        if request.url.path == METRICS_PATH and request.method == "GET":
            from starlette.responses import PlainTextResponse

            return PlainTextResponse(metrics_page(), media_type=METRICS_TYPE)
        with trace.span(trace.incoming(request.headers)) as span:
            started, wall = time.perf_counter(), time.time_ns()
            response = await answer(request)
            # A stream's time to answer is the time to its start (or its refusal).
            export = observer.answered(span, request.method, response.status_code,
                                       time.perf_counter() - started, wall)
        if export is not None:  # off the event loop: the first loads the SDK
            asyncio.get_running_loop().run_in_executor(None, export)
        return response

    observer = Observer.of(spec)
    setattr(function, "spec", spec)  # noqa: B010 - as shared_lib.http.registration does
    setattr(function, "handler", handler)  # noqa: B010 - the same
    catalog.register(spec)
    return served_async(function)


def served_async(function: Handler) -> Handler:
    """Register `function` the way functions_framework.aio.http does: an HTTP signature, and
    the mark that makes functions-framework serve it with its ASGI app. Without importing
    functions_framework.aio, which brings Starlette's whole application stack (22 ms of a
    cold start) to every WSGI function declared in a module beside an async one; only the
    server of an async function needs it. A unit test holds this equal to the decorator."""
    from functions_framework import _function_registry as registry

    registry.REGISTRY_MAP[function.__name__] = registry.HTTP_SIGNATURE_TYPE
    registry.ASGI_FUNCTIONS.add(function.__name__)
    return function

