"""The error tree as callers meet it: every error a handler can raise has its own status and a
stable machine-readable code, and only a failed media job is a 5xx of the domain's own."""

from __future__ import annotations

from shared_lib import errors
from shared_lib.http.responses import error_answer


def every_error() -> list[type[errors.StreamfnError]]:
    found, todo = [], [errors.StreamfnError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [cls for cls in found if cls is not errors.StreamfnError]


def make(cls: type[errors.StreamfnError]) -> errors.StreamfnError:
    return cls(retry_after=5) if issubclass(cls, errors.Throttled) else cls()


def test_every_error_is_answered_with_its_status_and_a_json_body_with_its_code():
    for cls in every_error():
        status, _, body = error_answer(make(cls))
        expected_5xx = issubclass(cls, (errors.ProcessingFailed, errors.DependencyUnavailable))
        assert (status >= 500) is expected_5xx, f"{cls.__name__} is {status}"
        assert body["error"]["code"] == cls.code and body["error"]["message"], cls.__name__
        assert body["error"]["code"] != "error", f"{cls.__name__} has no code of its own"


def test_a_throttle_says_when_to_come_back_and_never_sooner_than_a_second():
    status, headers, _ = error_answer(errors.Throttled(retry_after=0))
    assert status == 429 and headers["Retry-After"] == "1"


def test_a_wrong_method_names_the_methods_the_route_takes():
    status, headers, _ = error_answer(errors.MethodNotAllowed(allowed=["GET", "PUT"]))
    assert status == 405 and headers["Allow"] == "GET, PUT"
