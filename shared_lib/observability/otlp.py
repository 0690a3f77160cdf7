"""OpenTelemetry export, for a cluster's collector: each request's span and the request
metrics, over OTLP/HTTP (DESIGN.md §12).

Only imported when OTEL_EXPORTER_OTLP_ENDPOINT (or its traces- or metrics-only variant) is
set; unset, a function never loads the SDK (the cold-start bench shows it). The exporters
read the standard OTEL_* variables themselves (endpoint, headers, timeout, compression).

A span keeps the ids this platform already uses (trace.Span): the one in the request's log
line, in the events it sends and in the traceparent it passes on. It is recorded after the
answer has gone out, and a background thread batches spans to the collector, so a slow or
absent collector costs a request nothing; what the batch queue cannot hold is dropped, as
the SDK's processor does. The metrics carry the names of the runtime's /metrics page
(streamfn_requests_total, streamfn_request_duration_seconds) once a collector's Prometheus
exporter has added its suffixes.
"""

from __future__ import annotations

import atexit
import functools
import os
import threading
from typing import TYPE_CHECKING, Any

from shared_lib.observability.metrics import BUCKETS

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from shared_lib.observability.trace import Span

ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
             "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
_lock = threading.Lock()
_made: list[Any] = []  # the processors and providers built, to flush


def configured(environ: Any = os.environ) -> bool:
    """Whether this process exports (an endpoint is set): checked before importing this."""
    return any(environ.get(name) for name in ENDPOINTS)


def _traces_wanted() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def _metrics_wanted() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                or os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"))


@functools.cache
def _resource(service: str) -> Any:
    from opentelemetry.sdk.resources import Resource

    return Resource.create({"service.name": service, "service.namespace": "streamfn"})


@functools.cache
def _spans(service: str) -> BatchSpanProcessor | None:
    if not _traces_wanted():
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    processor = BatchSpanProcessor(OTLPSpanExporter())
    atexit.register(processor.shutdown)  # the last batch goes out with the process
    _made.append(processor)
    return processor


@functools.cache
def _instruments(service: str) -> tuple[Any, Any] | None:
    if not _metrics_wanted():
        return None
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

    provider = MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())],
        resource=_resource(service),
        views=[View(instrument_name="streamfn_request_duration_seconds",
                    aggregation=ExplicitBucketHistogramAggregation(list(BUCKETS)))])
    atexit.register(provider.shutdown)
    _made.append(provider)
    meter = provider.get_meter("streamfn")
    return (meter.create_counter("streamfn_requests", description="Requests answered."),
            meter.create_histogram("streamfn_request_duration_seconds", unit="s",
                                   description="Time to answer a request."))


def record(service: str, span: Span, *, name: str, started_ns: int, ended_ns: int,
           attributes: dict[str, Any], status: int, function: str, route: str) -> None:
    """One answered request: its server span, and its count and latency."""
    with _lock:  # the first call of each thread must not build the exporters twice
        processor, instruments = _spans(service), _instruments(service)
    if processor is not None:
        processor.on_end(_readable(service, span, name, started_ns, ended_ns, attributes, status))
    if instruments is not None:
        requests, latency = instruments
        requests.add(1, {"function": function, "route": route, "status": str(status)})
        latency.record((ended_ns - started_ns) / 1e9, {"function": function, "route": route})


def _readable(service: str, span: Span, name: str, started_ns: int, ended_ns: int,
              attributes: dict[str, Any], status: int) -> Any:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    flags = TraceFlags(int(span.flags, 16))
    parent = (SpanContext(int(span.trace_id, 16), int(span.parent_id, 16), is_remote=True,
                          trace_flags=flags) if span.parent_id else None)
    return ReadableSpan(
        name=name,
        context=SpanContext(int(span.trace_id, 16), int(span.span_id, 16), is_remote=False,
                            trace_flags=flags),
        parent=parent, resource=_resource(service), kind=SpanKind.SERVER,
        attributes={key: value for key, value in attributes.items() if value is not None},
        status=Status(StatusCode.ERROR if status >= 500 else StatusCode.UNSET),
        start_time=started_ns, end_time=ended_ns,
        instrumentation_scope=InstrumentationScope("streamfn"))


def flush() -> None:
    """Send what is batched and measured now (tests, and a process about to exit)."""
    for made in list(_made):
        made.force_flush()
