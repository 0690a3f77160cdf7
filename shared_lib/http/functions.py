"""The decorators that turn a plain function into an HTTP, event or scheduled function: the
one handler pipeline.

    @http_function("PUT /api/users/{username}/follow", auth="user", response=FollowState)
    def follow(username: str, account: User, uow: UnitOfWork) -> FollowState: ...

Each decorator registers the function with functions-framework (as an HTTP function: event
functions answer 202 with an empty body, which a Knative broker counts as delivered) and
with the catalog. The wrapper does, once for every function: route and method checks, the
body size limit, JSON parsing and validation, authentication, the unit of work, and the
mapping of the error tree to status codes and JSON bodies. The handler asks for what it
needs by parameter name:

    body     the validated request model      query    the validated query model (paging)
    user     the verified AccessClaims        account  the caller's User, loaded (401 if gone)
    uow      an open UnitOfWork, committed when the handler returns (and its events sent)
    client   the caller's address             cookies  the request's cookies, by name
    event    the CloudEvent (event functions)
    any path parameter by its name, e.g. `username` for /api/users/{username}; annotated
    `uuid.UUID` or `int`, it arrives converted, and a malformed one is a 404.

A handler written `async def`, or one whose answers are cached, is served by
functions-framework's ASGI mode instead, with the same contract (aio.py): a hot path that
waits on Redis only, or a cached read whose kept answers need no thread.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import flask

from shared_lib import errors
from shared_lib.catalog import EVENT, HTTP, SCHEDULE, FunctionSpec, Scaling
from shared_lib.http.answers import Cached
from shared_lib.http.auth import AUTH_MODES, authenticate
from shared_lib.http.paths import path_converters, path_parameters
from shared_lib.http.registration import Decorator, Handler, health, parameters_of, register, spec_of
from shared_lib.http.requests import client_of, parse_json_body, read_body, validate
from shared_lib.http.responses import View, json_response
from shared_lib.http.storable import refuse_unstorable
from shared_lib.http.work import answered, pipeline, run, unit_of_work

if TYPE_CHECKING:
    from shared_lib.db import UnitOfWork


@dataclass(frozen=True)
class Reply:
    """A handler's answer when the decorator's status or headers are not enough."""

    body: Any
    status: int = 200
    headers: dict[str, str] | None = None

def http_function(
    route: str,
    *,
    body: Any = None,
    query: Any = None,
    response: Any = None,
    auth: str = "none",
    status: int = 200,
    scaling: Scaling | None = None,
    media: bool = False,
    cache: Cached | None = None,
) -> Decorator:
    """Declare an HTTP function served at `route` ("METHOD /path/{param}"); `media`: it
    needs the media volume; `cache`: a GET whose public answers are kept that long
    (answers.py), served async. An `async def` handler is always served async."""
    method, path = route.split(" ", 1)
    assert auth in AUTH_MODES, auth

    def decorate(handler: Handler) -> Handler:
        served_async = inspect.iscoroutinefunction(handler) or cache is not None
        spec = spec_of(
            handler, HTTP, scaling, method=method, path=path, auth=auth,
            body=body, query=query, response=response, status=status, media=media,
            asgi=served_async,
        )
        if served_async:
            from shared_lib.http.aio import async_view, cached_view, register_asgi

            served = async_view(spec, handler) if cache is None else cached_view(spec, handler, cache)
            return register_asgi(spec, handler, served)
        wants = parameters_of(handler)
        assert "account" not in wants or auth in {"user", "optional"}, spec.name
        pattern, converters = spec.path_pattern, path_converters(handler, path)
        session = pipeline(wants)

        def view(request: flask.Request) -> flask.Response:
            probed = health(request)
            if probed is not None:
                return probed
            match = pattern.match(request.path)
            if match is None:
                raise errors.NotFound("No such route.")
            if request.method != method:
                raise errors.MethodNotAllowed(allowed=[method])
            if body is None:
                read_body(request)
            kwargs = path_parameters(match.groupdict(), wants, converters)
            user = authenticate(request, auth)
            if "user" in wants:
                kwargs["user"] = user
            if "client" in wants:
                kwargs["client"] = client_of(request.headers, request.remote_addr)
            if "cookies" in wants:
                kwargs["cookies"] = dict(request.cookies)
            if body is not None:
                kwargs["body"] = parse_json_body(request, body)
                refuse_unstorable(kwargs["body"])
            if query is not None:
                kwargs["query"] = validate(query, request.args.to_dict())
                refuse_unstorable(kwargs["query"])
            outgoing: list[Any] = []
            result = run(session, handler, kwargs, user, outgoing)
            return answered(_to_response(result, status), outgoing)

        return register(spec, handler, view)

    return decorate

def answer_of(result: Any, status: int) -> tuple[Any, int, dict[str, str] | None]:
    """What a handler returned, as (JSON payload, status, headers): a Reply says its own; a
    model is dumped; nothing at all is a 204 where the declared status is 200."""
    headers = None
    if isinstance(result, Reply):
        result, status, headers = result.body, result.status, result.headers
    if hasattr(result, "model_dump"):
        result = result.model_dump(mode="json")
    if result is None and status == 200:
        status = 204
    return result, status, headers


def _to_response(result: Any, status: int) -> flask.Response:
    return json_response(*answer_of(result, status))

def _event_view(spec: FunctionSpec, handler: Handler, *, claim: bool) -> View:
    wants = parameters_of(handler)

    def view(request: flask.Request) -> flask.Response:
        probed = health(request)
        if probed is not None:
            return probed
        if request.method != "POST":
            raise errors.MethodNotAllowed(allowed=["POST"])
        from shared_lib.events.receipt import parse_event
        from shared_lib.events.sender import function_audience, verify_request

        verify_request(request.headers.get("Authorization", ""), audience=function_audience(spec.name))
        event = parse_event(request.headers, read_body(request))
        if spec.event_type and event["type"] != spec.event_type:
            raise errors.InvalidInput(f"{spec.name} takes {spec.event_type}, not {event['type']}.")
        kwargs: dict[str, Any] = {"event": event} if "event" in wants else {}
        if not claim and "uow" not in wants:
            handler(**kwargs)
            return flask.Response(status=202)
        outgoing: list[Any] = []
        with unit_of_work({"uow"}, None, outgoing) as supplied:
            uow: UnitOfWork = supplied["uow"]
            first = not claim or uow.events.claim(
                consumer=spec.name,
                source=event["source"],
                event_id=event["id"],
                event_type=event["type"],
            )
            if first:
                handler(**kwargs, **({"uow": uow} if "uow" in wants else {}))
        return answered(flask.Response(status=202), outgoing)

    return view

def event_function(event_type: str, *, scaling: Scaling | None = None, media: bool = False,
                   claim: bool = True) -> Decorator:
    """Declare a function that receives `event_type` from the broker.

    Delivery is at least once; the wrapper records (source, id) in the same transaction as
    the handler's effect, so a redelivered event is acknowledged and has no second effect.
    `claim=False` is for handlers idempotent by the state they read, which must not hold
    a transaction open while they wait on something else.
    """

    def decorate(handler: Handler) -> Handler:
        spec = spec_of(handler, EVENT, scaling, event_type=event_type, media=media)
        return register(spec, handler, _event_view(spec, handler, claim=claim))

    return decorate

def scheduled_function(schedule: str, *, scaling: Scaling | None = None,
                       media: bool = False) -> Decorator:
    """Declare a function fired by a PingSource on a cron `schedule`.

    Scheduled work recomputes from the truth, so it is idempotent by construction and
    needs no claim: a retried firing simply runs again.
    """
    from shared_lib.events.types import EventType

    def decorate(handler: Handler) -> Handler:
        spec = spec_of(handler, SCHEDULE, scaling, event_type=EventType.PING, schedule=schedule,
                     media=media)
        return register(spec, handler, _event_view(spec, handler, claim=False))

    return decorate
