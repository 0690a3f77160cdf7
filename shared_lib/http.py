"""The decorators that turn a plain function into an HTTP, event or scheduled function.

    @http_function("POST /api/auth/login", body=LoginRequest, response=TokenPair)
    def login(body: LoginRequest, client: Client) -> TokenPair: ...

Each decorator registers the function with functions-framework (as an HTTP function: event
functions answer 202 with an empty body, which a Knative broker counts as delivered) and
with the catalog. The wrapper does, once for every function: route and method checks, the
body size limit, JSON parsing and validation, authentication, and the mapping of the error
tree to status codes and JSON bodies. The handler asks for what it needs by parameter name:

    body    the validated request model        query   the validated query model
    user    the verified AccessClaims (auth)   client  the caller's address
    event   the CloudEvent (event functions)   uow     an open UnitOfWork (event functions)
    cookies the request's cookies, by name
    any path parameter by its name, e.g. `username` for /api/users/{username}
"""

from __future__ import annotations

import functools
import hmac
import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import flask
import functions_framework

from shared_lib import catalog, errors
from shared_lib.catalog import EVENT, HTTP, SCHEDULE, FunctionSpec, Scaling
from shared_lib.config import get_settings
from shared_lib.storable import refuse_unstorable

if TYPE_CHECKING:
    from pydantic import ValidationError

    from shared_lib.security import AccessClaims

Handler = Callable[..., Any]
View = Callable[[flask.Request], flask.Response]
Decorator = Callable[[Handler], Handler]

log = logging.getLogger(__name__)

STATUS = {
    errors.InvalidInput: 400,
    errors.NotAuthenticated: 401,
    errors.NotPermitted: 403,
    errors.NotFound: 404,
    errors.MethodNotAllowed: 405,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.Throttled: 429,
    errors.ProcessingFailed: 500,
    errors.DependencyUnavailable: 503,
}

AUTH_MODES = {"none", "user", "optional", "internal"}
INGEST_SECRET_HEADER = "X-Streamfn-Ingest-Secret"
HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class Client:
    """Who is calling, as far as the network tells: the address behind trusted proxies."""

    address: str


@dataclass(frozen=True)
class Reply:
    """A handler's answer when the decorator's status or headers are not enough."""

    body: Any
    status: int = 200
    headers: dict[str, str] | None = None


# --- responses -------------------------------------------------------------------------


def json_response(payload: Any, status: int = 200, headers: dict[str, Any] | None = None) -> flask.Response:
    body = "" if payload is None else json.dumps(payload, separators=(",", ":"), default=str)
    response = flask.Response(body, status=status, headers=headers)
    if payload is not None:
        response.content_type = "application/json"
    return response


def error_body(error: errors.StreamfnError) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message, "details": error.details}}


def error_response(error: errors.StreamfnError) -> flask.Response:
    """The one place an error becomes a status code."""
    status = next((code for cls, code in STATUS.items() if isinstance(error, cls)), 500)
    headers = {}
    if isinstance(error, errors.Throttled):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, errors.MethodNotAllowed) and error.allowed:
        headers["Allow"] = ", ".join(error.allowed)
    return json_response(error_body(error), status, headers)


def _as_known_error(exc: Exception) -> errors.StreamfnError | None:
    """Dependency failures that escaped a repository become 503, not 500."""
    from shared_lib.cache import REDIS_ERRORS

    if isinstance(exc, REDIS_ERRORS):
        return errors.DependencyUnavailable("Redis is unavailable. Try again shortly.")
    from sqlalchemy.exc import InterfaceError, OperationalError

    if isinstance(exc, (OperationalError, InterfaceError)):
        return errors.DependencyUnavailable("The database is unavailable. Try again shortly.")
    return None


def _guarded(spec: FunctionSpec, view: View) -> View:
    def run(request: flask.Request) -> flask.Response:
        try:
            return view(request)
        except errors.StreamfnError as error:
            return error_response(error)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            known = _as_known_error(exc)
            if known is not None:
                log.warning("%s: %s", spec.name, known.message)
                return error_response(known)
            log.exception("%s failed", spec.name)
            return json_response(
                {"error": {"code": "internal", "message": "Something went wrong.", "details": []}},
                500,
            )

    return run


# --- request parsing -------------------------------------------------------------------


def read_body(request: flask.Request) -> bytes:
    limit = get_settings().max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise errors.PayloadTooLarge(details=[{"limit_bytes": limit}])
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise errors.PayloadTooLarge(details=[{"limit_bytes": limit}])
    return data


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
    """A model from the JSON body, validated in JSON mode: strict about types (no "5" for
    5), while ids and times arrive as the strings JSON has for them."""
    from pydantic import ValidationError

    raw = read_body(request)
    mimetype = (request.mimetype or "").lower()
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


def client_of(request: flask.Request) -> Client:
    """The caller's address: the entry the last trusted proxy appended, else the peer."""
    hops = get_settings().trusted_proxy_hops
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if hops and forwarded:
        return Client(address=forwarded[-min(hops, len(forwarded))])
    return Client(address=request.remote_addr or "unknown")


def bearer_token(request: flask.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(request: flask.Request, mode: str) -> AccessClaims | None:
    if mode == "internal":
        secret = request.headers.get(INGEST_SECRET_HEADER, "")
        if not hmac.compare_digest(secret.encode(), get_settings().ingest_secret.encode()):
            raise errors.NotAuthenticated("This endpoint is for the ingest tier only.")
        return None
    token = bearer_token(request)
    if token is None:
        if mode == "user":
            raise errors.NotAuthenticated()
        return None
    if mode == "none":
        return None
    from shared_lib.revocation import is_revoked
    from shared_lib.security import get_verifier

    claims = get_verifier().verify(token)
    if is_revoked(claims):
        raise errors.InvalidToken()
    return claims


# --- decorators ------------------------------------------------------------------------


def _wants(handler: Handler) -> set[str]:
    return set(inspect.signature(handler).parameters)


def _register(spec: FunctionSpec, handler: Handler, view: View) -> Handler:
    @functools.wraps(handler)
    def function(request: flask.Request) -> flask.Response:
        return guarded(request)

    guarded = _guarded(spec, view)
    # What the catalog, the tests and the OpenAPI document read off a declared function.
    setattr(function, "spec", spec)  # noqa: B010 - an attribute functools.wraps' type lacks
    setattr(function, "handler", handler)  # noqa: B010 - the same
    catalog.register(spec)
    return cast(Handler, functions_framework.http(function))


def _spec(handler: Handler, kind: str, scaling: Scaling | None, **fields: Any) -> FunctionSpec:
    return FunctionSpec(
        name=handler.__name__.replace("_", "-"),
        target=handler.__name__,
        module=handler.__module__.rsplit(".", 1)[-1],
        kind=kind,
        summary=(inspect.getdoc(handler) or "").split("\n")[0],
        scaling=scaling or Scaling(),
        **fields,
    )


def _health(request: flask.Request) -> flask.Response | None:
    if request.path == HEALTH_PATH and request.method == "GET":
        return json_response({"status": "ok"})
    return None


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
) -> Decorator:
    """Declare an HTTP function served at `route` ("METHOD /path/{param}"); `media`: it
    needs the media volume."""
    method, path = route.split(" ", 1)
    assert auth in AUTH_MODES, auth

    def decorate(handler: Handler) -> Handler:
        spec = _spec(
            handler, HTTP, scaling, method=method, path=path, auth=auth,
            body=body, query=query, response=response, status=status, media=media,
        )
        wants = _wants(handler)
        pattern = spec.path_pattern

        def view(request: flask.Request) -> flask.Response:
            health = _health(request)
            if health is not None:
                return health
            match = pattern.match(request.path)
            if match is None:
                raise errors.NotFound("No such route.")
            if request.method != method:
                raise errors.MethodNotAllowed(allowed=[method])
            if body is None:
                read_body(request)
            kwargs: dict[str, Any] = {k: v for k, v in match.groupdict().items() if k in wants}
            refuse_unstorable(kwargs)
            user = authenticate(request, auth)
            if "user" in wants:
                kwargs["user"] = user
            if "client" in wants:
                kwargs["client"] = client_of(request)
            if "cookies" in wants:
                kwargs["cookies"] = dict(request.cookies)
            if body is not None:
                kwargs["body"] = parse_json_body(request, body)
                refuse_unstorable(kwargs["body"])
            if query is not None:
                kwargs["query"] = validate(query, request.args.to_dict())
                refuse_unstorable(kwargs["query"])
            result = handler(**kwargs)
            return _to_response(result, status)

        return _register(spec, handler, view)

    return decorate


def _to_response(result: Any, status: int) -> flask.Response:
    headers = None
    if isinstance(result, Reply):
        result, status, headers = result.body, result.status, result.headers
    if hasattr(result, "model_dump"):
        result = result.model_dump(mode="json")
    if result is None:
        return json_response(None, 204 if status == 200 else status, headers)
    return json_response(result, status, headers)


def _event_view(spec: FunctionSpec, handler: Handler, *, claim: bool) -> View:
    wants = _wants(handler)

    def view(request: flask.Request) -> flask.Response:
        health = _health(request)
        if health is not None:
            return health
        if request.method != "POST":
            raise errors.MethodNotAllowed(allowed=["POST"])
        from shared_lib.events import parse_event
        from shared_lib.sender import function_audience, verify_request

        verify_request(request.headers.get("Authorization", ""), audience=function_audience(spec.name))
        event = parse_event(request.headers, read_body(request))
        if spec.event_type and event["type"] != spec.event_type:
            raise errors.InvalidInput(f"{spec.name} takes {spec.event_type}, not {event['type']}.")
        kwargs: dict[str, Any] = {"event": event} if "event" in wants else {}
        if not claim and "uow" not in wants:
            handler(**kwargs)
            return flask.Response(status=202)
        from shared_lib.db import UnitOfWork

        with UnitOfWork() as uow:
            first = not claim or uow.events.claim(
                consumer=spec.name,
                source=event["source"],
                event_id=event["id"],
                event_type=event["type"],
            )
            if first:
                handler(**kwargs, **({"uow": uow} if "uow" in wants else {}))
            uow.commit()
        return flask.Response(status=202)

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
        spec = _spec(handler, EVENT, scaling, event_type=event_type, media=media)
        return _register(spec, handler, _event_view(spec, handler, claim=claim))

    return decorate


def scheduled_function(schedule: str, *, scaling: Scaling | None = None,
                       media: bool = False) -> Decorator:
    """Declare a function fired by a PingSource on a cron `schedule`.

    Scheduled work recomputes from the truth, so it is idempotent by construction and
    needs no claim: a retried firing simply runs again.
    """
    from shared_lib.events import EventType

    def decorate(handler: Handler) -> Handler:
        spec = _spec(handler, SCHEDULE, scaling, event_type=EventType.PING, schedule=schedule,
                     media=media)
        return _register(spec, handler, _event_view(spec, handler, claim=False))

    return decorate
