"""W3C Trace Context: what continues a trace, what starts one."""

from __future__ import annotations

import pytest

from shared_lib.observability import trace

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_valid_traceparent_is_continued_by_a_new_span_of_the_same_trace():
    span = trace.child_of(PARENT)
    assert span.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span.parent_id == "00f067aa0ba902b7" and span.span_id != span.parent_id
    assert trace.parse(span.traceparent) == (span.trace_id, span.span_id, "01")


@pytest.mark.parametrize("header", [
    None, "", "garbage", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
])
def test_anything_else_starts_a_new_trace(header):
    span = trace.child_of(header)
    assert span.parent_id is None and len(span.trace_id) == 32 and span.trace_id != "0" * 32
    assert trace.parse(span.traceparent) is not None


def test_an_events_own_context_comes_before_the_requests():
    other = "00-11111111111111111111111111111111-2222222222222222-01"
    assert trace.incoming({"ce-traceparent": PARENT, "traceparent": other}) == PARENT
    assert trace.incoming({"traceparent": other}) == other
    assert trace.incoming({"traceparent": "bad"}) is None


def test_the_span_is_current_only_inside_its_block():
    assert trace.current() is None
    with trace.span(PARENT) as span:
        assert trace.current() == span
        with trace.span(span.traceparent) as child:
            assert child.trace_id == span.trace_id and child.parent_id == span.span_id
        assert trace.current() == span
    assert trace.current() is None
