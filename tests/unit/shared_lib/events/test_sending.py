"""Sending an event: the cloudevents SDK's binary mode, Knative's overrides, and the sink's
answer, with a fake sink for the broker."""

from __future__ import annotations

import json

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


class Broker:
    """A Sink that answers `status` to every POST, or raises `error`."""

    def __init__(self, status: int = 202, error: Exception | None = None) -> None:
        self.status, self.error, self.received = status, error, []

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        if self.error is not None:
            raise self.error
        self.received.append((body, headers))
        return self.status


def test_headers_are_a_binary_mode_cloudevent_with_the_overrides(sink):
    headers = binary_headers(type="dev.streamfn.user.followed", source="/functions/follow",
                             subject="u1")
    assert headers["ce-specversion"] == "1.0" and headers["ce-type"] == "dev.streamfn.user.followed"
    assert headers["ce-subject"] == "u1" and headers["ce-cluster"] == "eu-1"
    assert headers["ce-id"] and headers["ce-time"] and headers["content-type"] == "application/json"
    again = binary_headers(type="t", source="/s", event_id="fixed")
    assert again["ce-id"] == "fixed", "a retried send keeps its id"


@pytest.mark.parametrize("attributes", [
    {"type": "t.happened", "source": "/s", "id": "e1", "time": "2026-11-29T02:00:00+00:00"},
    {"type": "t", "source": "/s", "id": "e2", "time": "2026-11-29T02:00:00.5+00:00",
     "subject": "u1", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
     "cluster": "eu-1"},
])
def test_the_headers_are_the_cloudevents_sdks(attributes):
    from cloudevents.conversion import to_binary
    from cloudevents.http import CloudEvent

    from shared_lib.events.sending import encode

    made, _ = to_binary(CloudEvent({"datacontenttype": "application/json", **attributes}, None))
    assert encode(attributes) == dict(made)


def test_an_event_without_an_id_or_a_time_gets_a_new_id_and_the_time_now():
    from datetime import UTC, datetime

    from shared_lib.events.sending import encode

    first, second = encode({"type": "t", "source": "/s"}), encode({"type": "t", "source": "/s"})
    assert first["ce-id"] != second["ce-id"]
    sent = datetime.fromisoformat(first["ce-time"])
    assert sent.tzinfo is not None and abs((datetime.now(UTC) - sent).total_seconds()) < 5


def test_an_accepted_event_is_sent_once_as_json(sink):
    broker = Broker(202)
    headers = binary_headers(type="t.happened", source="/s")
    assert send(headers, {"n": 1}, to=broker) is True
    [(body, sent)] = broker.received
    assert json.loads(body) == {"n": 1} and sent["ce-id"] == headers["ce-id"]


def test_a_refused_or_unreachable_sink_is_not_a_send(sink):
    assert send(binary_headers(type="t", source="/s"), {}, to=Broker(500)) is False
    down = Broker(error=ConnectionRefusedError("refused"))
    assert send(binary_headers(type="t", source="/s"), {}, to=down) is False


def test_an_event_carries_the_trace_of_the_work_that_sent_it(sink):
    from shared_lib.observability import trace

    assert "ce-traceparent" not in binary_headers(type="t", source="/s")
    with trace.span(None) as span:
        headers = binary_headers(type="t", source="/s")
    assert headers["ce-traceparent"] == span.traceparent
    recorded = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with trace.span(None):  # an outbox event keeps the trace it was recorded in
        assert binary_headers(type="t", source="/s", traceparent=recorded)["ce-traceparent"] == recorded
