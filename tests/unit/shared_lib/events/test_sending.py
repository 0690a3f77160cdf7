"""Sending an event: the cloudevents SDK's binary mode, Knative's overrides, and the sink's
answer, with httpx's mock transport for the broker."""

from __future__ import annotations

import json

import httpx
import pytest

from shared_lib.config import get_settings
from shared_lib.events.sending import binary_headers, send


@pytest.fixture
def sink(monkeypatch):
    monkeypatch.setenv("K_SINK", "http://broker.invalid/streamfn/default")
    monkeypatch.setenv("K_CE_OVERRIDES", json.dumps({"extensions": {"Cluster": "eu-1"}}))
    monkeypatch.delenv("STREAMFN_SENDER_TOKEN_FILE", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def broker(status: int):
    received = []

    def handle(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(status)

    return httpx.Client(transport=httpx.MockTransport(handle)), received


def test_headers_are_a_binary_mode_cloudevent_with_the_overrides(sink):
    headers = binary_headers(type="dev.streamfn.user.followed", source="/functions/follow",
                             subject="u1")
    assert headers["ce-specversion"] == "1.0" and headers["ce-type"] == "dev.streamfn.user.followed"
    assert headers["ce-subject"] == "u1" and headers["ce-cluster"] == "eu-1"
    assert headers["ce-id"] and headers["ce-time"] and headers["content-type"] == "application/json"
    again = binary_headers(type="t", source="/s", event_id="fixed")
    assert again["ce-id"] == "fixed", "a retried send keeps its id"


def test_an_accepted_event_is_sent_once_as_json(sink):
    client, received = broker(202)
    headers = binary_headers(type="t.happened", source="/s")
    assert send(headers, {"n": 1}, client=client) is True
    [request] = received
    assert str(request.url) == "http://broker.invalid/streamfn/default"
    assert json.loads(request.content) == {"n": 1} and request.headers["ce-id"] == headers["ce-id"]


def test_a_refused_or_unreachable_sink_is_not_a_send(sink):
    client, _ = broker(500)
    assert send(binary_headers(type="t", source="/s"), {}, client=client) is False

    def unreachable(request):
        raise httpx.ConnectError("refused", request=request)

    down = httpx.Client(transport=httpx.MockTransport(unreachable))
    assert send(binary_headers(type="t", source="/s"), {}, client=down) is False


def test_an_event_carries_the_trace_of_the_work_that_sent_it(sink):
    from shared_lib.observability import trace

    assert "ce-traceparent" not in binary_headers(type="t", source="/s")
    with trace.span(None) as span:
        headers = binary_headers(type="t", source="/s")
    assert headers["ce-traceparent"] == span.traceparent
    recorded = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with trace.span(None):  # an outbox event keeps the trace it was recorded in
        assert binary_headers(type="t", source="/s", traceparent=recorded)["ce-traceparent"] == recorded
