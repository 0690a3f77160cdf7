"""OTLP export: with OTEL_EXPORTER_OTLP_ENDPOINT set, each request's span reaches the collector
with the ids the request's log line and its events carry, and the request metrics under the
runtime's names; unset, OpenTelemetry is never imported. A collector stand-in on 127.0.0.1
decodes what arrives; the function runs in a process of its own, as it is served."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

ROOT = Path(__file__).resolve().parents[4]
SAMPLE = ROOT / "tests" / "unit" / "shared_lib" / "http" / "sample_functions.py"
STREAMS = SAMPLE.with_name("sample_streams.py")
CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

SERVE_ONE = f"""
import json, logging, sys
import functions_framework
from shared_lib.observability import logs, otlp
app = functions_framework.create_app("greet", {str(SAMPLE)!r})
lines = []
handler = logging.Handler()
handler.emit = lambda record: lines.append(logs.JsonFormatter("greet").format(record))
logging.getLogger("streamfn.requests").addHandler(handler)
logging.getLogger("streamfn.requests").setLevel(logging.INFO)
response = app.test_client().post("/api/greetings/hi", json={{"name": "ada"}},
                                  headers={{"traceparent": {CALLER!r}}})
response.close()  # what the WSGI server does after the last byte
otlp.flush()
print(json.dumps({{"status": response.status_code, "log": json.loads(lines[-1]),
                  "otel": sorted(name for name in sys.modules if name.startswith("opentelemetry"))}}))
"""


OPEN_STREAM = f"""
import json, sys, warnings
from functions_framework.aio import create_asgi_app
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
app = create_asgi_app("room_events", {str(STREAMS)!r})
with TestClient(app) as client:
    answer = client.get("/api/rooms/lobby/events", headers={{"traceparent": {CALLER!r}}})
print(json.dumps({{"status": answer.status_code}}))
"""


class Collector:
    """Takes OTLP/HTTP protobuf exports and keeps them decoded."""

    def __init__(self) -> None:
        self.spans: list = []
        self.metrics: list = []
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    @Request.application
    def app(self, request: Request) -> Response:
        if request.path == "/v1/traces":
            export = ExportTraceServiceRequest.FromString(request.get_data())
            self.spans += [(resource.resource, span) for resource in export.resource_spans
                           for scope in resource.scope_spans for span in scope.spans]
        elif request.path == "/v1/metrics":
            export = ExportMetricsServiceRequest.FromString(request.get_data())
            self.metrics += [metric for resource in export.resource_metrics
                             for scope in resource.scope_metrics for metric in scope.metrics]
        return Response(b"", content_type="application/x-protobuf")


@pytest.fixture
def collector():
    made = Collector()
    yield made
    made.server.shutdown()


def serve_one(script: str = SERVE_ONE, **env: str) -> dict:
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         cwd=ROOT, env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT),
                                        "K_SERVICE": "greet", **env})
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout.strip().splitlines()[-1])


def test_unset_the_exporter_is_never_imported():
    served = serve_one()
    assert served["status"] == 201 and served["otel"] == []


def test_a_request_span_reaches_the_collector_under_the_callers_trace(collector):
    served = serve_one(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url)
    assert served["status"] == 201
    [(resource, span)] = collector.spans
    logged = served["log"]
    assert span.trace_id.hex() == CALLER.split("-")[1] == logged["trace_id"]
    assert span.span_id.hex() == logged["span_id"], "the span is the one the log line names"
    assert span.parent_span_id.hex() == CALLER.split("-")[2]
    assert span.name == "POST /api/greetings/{slug}" and span.kind == span.SPAN_KIND_SERVER
    attributes = {item.key: item.value for item in span.attributes}
    assert attributes["http.response.status_code"].int_value == 201
    assert span.end_time_unix_nano > span.start_time_unix_nano
    service = {item.key: item.value.string_value for item in resource.attributes}["service.name"]
    assert service == "greet"
    names = {metric.name for metric in collector.metrics}
    assert {"streamfn_requests", "streamfn_request_duration_seconds"} <= names
    # Cumulative: the last export (the flush's, then the exit's) holds the count so far.
    counted = [metric for metric in collector.metrics if metric.name == "streamfn_requests"][-1]
    [point] = counted.sum.data_points
    labels = {item.key: item.value.string_value for item in point.attributes}
    assert point.as_int == 1 and labels == {"function": "greet", "route": "/api/greetings/{slug}",
                                            "status": "201"}


def test_a_collector_that_is_down_costs_the_request_nothing():
    served = serve_one(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_EXPORTER_OTLP_TIMEOUT="1")
    assert served["status"] == 201 and served["log"]["status"] == 201


def test_an_event_stream_is_a_span_of_the_callers_trace_too(collector):
    """The chat event stream (an async function): its span goes out off the event loop, and
    with the process's last batch when it exits."""
    served = serve_one(OPEN_STREAM, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, K_SERVICE="room-events")
    assert served["status"] == 200
    [(_, span)] = collector.spans
    assert span.trace_id.hex() == CALLER.split("-")[1] and span.parent_span_id.hex() == CALLER.split("-")[2]
    assert span.name == "GET /api/rooms/{room}/events"
