"""Writing a response: JSON bodies, and the one place an error becomes a status code."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import flask

from shared_lib import errors

View = Callable[[flask.Request], flask.Response]

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


def json_text(payload: Any) -> str:
    """A JSON body as every function writes it: compact, and ids and times as strings."""
    return "" if payload is None else json.dumps(payload, separators=(",", ":"), default=str)


def json_response(payload: Any, status: int = 200, headers: dict[str, Any] | None = None) -> flask.Response:
    response = flask.Response(json_text(payload), status=status, headers=headers)
    if payload is not None:
        response.content_type = "application/json"
    return response


def error_body(error: errors.StreamfnError) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message, "details": error.details}}


INTERNAL_ERROR = {"error": {"code": "internal", "message": "Something went wrong.", "details": []}}


def error_answer(error: errors.StreamfnError) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The one place an error becomes a status code: (status, headers, JSON body)."""
    status = next((code for cls, code in STATUS.items() if isinstance(error, cls)), 500)
    headers = {}
    if isinstance(error, errors.Throttled):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, errors.MethodNotAllowed) and error.allowed:
        headers["Allow"] = ", ".join(error.allowed)
    return status, headers, error_body(error)


def error_response(error: errors.StreamfnError) -> flask.Response:
    status, headers, body = error_answer(error)
    return json_response(body, status, headers)


def as_known_error(exc: Exception) -> errors.StreamfnError | None:
    """Dependency failures that escaped a repository become 503, not 500."""
    from shared_lib.cache import REDIS_ERRORS

    if isinstance(exc, REDIS_ERRORS):
        return errors.DependencyUnavailable("Redis is unavailable. Try again shortly.")
    from sqlalchemy.exc import InterfaceError, OperationalError

    if isinstance(exc, (OperationalError, InterfaceError)):
        return errors.DependencyUnavailable("The database is unavailable. Try again shortly.")
    return None


def guarded(name: str, view: View) -> View:
    """`view` with every error it raises answered as JSON: the domain's by their status,
    a dependency's as 503, anything else as a 500 that says nothing of the cause."""

    def run(request: flask.Request) -> flask.Response:
        try:
            return view(request)
        except errors.StreamfnError as error:
            return error_response(error)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            known = as_known_error(exc)
            if known is not None:
                log.warning("%s: %s", name, known.message)
                return error_response(known)
            log.exception("%s failed", name)
            return json_response(INTERNAL_ERROR, 500)

    return run
