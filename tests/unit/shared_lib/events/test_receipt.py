"""Reading a CloudEvent off a request: binary and structured mode alike; anything else is
invalid input, which the pipeline answers 400."""

from __future__ import annotations

import json

import pytest

from shared_lib.errors import InvalidInput
from shared_lib.events.receipt import parse_event
from tests.factories import cloudevent


def test_binary_and_structured_mode_read_the_same():
    headers, body = cloudevent("dev.streamfn.stream.started", {"stream_id": "s"}, id="e1", source="/x")
    binary = parse_event(headers, body)
    structured = parse_event({"content-type": "application/cloudevents+json"}, json.dumps({
        "specversion": "1.0", "id": "e1", "source": "/x", "type": "dev.streamfn.stream.started",
        "datacontenttype": "application/json", "data": {"stream_id": "s"}}).encode())
    for event in (binary, structured):
        assert (event["id"], event["source"], event["type"]) == ("e1", "/x", "dev.streamfn.stream.started")
        assert event.data == {"stream_id": "s"}


@pytest.mark.parametrize("headers, body", [
    ({"content-type": "application/json"}, b"{}"),  # no ce- headers
    ({"content-type": "application/cloudevents+json"}, b"not json"),
    ({"content-type": "application/cloudevents+json"}, b'{"specversion": "1.0", "type": "t"}'),
    ({"ce-specversion": "1.0", "ce-id": "", "ce-source": "/x", "ce-type": "t"}, b""),
])
def test_what_is_not_a_cloudevent_is_invalid_input(headers, body):
    with pytest.raises(InvalidInput):
        parse_event(headers, body)
