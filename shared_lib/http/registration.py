"""Registering a declared function: with functions-framework (as an HTTP function) and with
the catalog, inside the wrapper every request passes once: the health probe, the process's
metrics page, the request's span, its log line and its metrics."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import flask
import functions_framework

from shared_lib import catalog
from shared_lib.catalog import EVENT, HTTP, SCHEDULE, FunctionSpec, Scaling
from shared_lib.http.responses import View, guarded, json_response
from shared_lib.observability import logs, metrics, otlp, trace

Handler = Callable[..., Any]
Decorator = Callable[[Handler], Handler]

TRIGGERS = {HTTP: "http", EVENT: "pubsub", SCHEDULE: "timer"}  # OpenTelemetry's faas.trigger
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
METRICS_TYPE = "text/plain; version=0.0.4"

log = logging.getLogger("streamfn.requests")


def parameters_of(handler: Handler) -> set[str]:
    return set(inspect.signature(handler).parameters)


def register(spec: FunctionSpec, handler: Handler, view: View) -> Handler:
    @functools.wraps(handler)
    def function(request: flask.Request) -> flask.Response:
        if request.path == HEALTH_PATH:
            return safe(request)
        if request.path == METRICS_PATH and request.method == "GET":
            # This process's request metrics, for a scrape of the pod (in a cluster; the
            # runtime's /metrics sums them on one machine). No route of the catalog is this,
            # so neither front door passes it on.
            return flask.Response(metrics_page(), mimetype=METRICS_TYPE)
        with trace.span(trace.incoming(request.headers)) as span:
            started, wall = time.perf_counter(), time.time_ns()
            response = safe(request)
            export = observer.answered(span, request.method, response.status_code,
                                       time.perf_counter() - started, wall, request.headers.get("ce-id"))
            if export is not None:  # after the answer has gone out: the caller never waits on it
                response.call_on_close(export)
            return response

    safe = guarded(spec.name, view)
    observer = Observer.of(spec)
    # What the catalog, the tests and the OpenAPI document read off a declared function.
    setattr(function, "spec", spec)  # noqa: B010 - an attribute functools.wraps' type lacks
    setattr(function, "handler", handler)  # noqa: B010 - the same
    catalog.register(spec)
    return cast(Handler, functions_framework.http(function))


def metrics_page() -> str:
    return metrics.exposition(metrics.request_families(metrics.REQUESTS.snapshot()))


@dataclass(frozen=True)
class Observer:
    """What every answered request leaves: its metrics, its JSON log line, and (with an OTLP
    endpoint set) its span and metrics for the collector."""

    function: str
    route: str
    trigger: str
    service: str
    exporting: bool

    @classmethod
    def of(cls, spec: FunctionSpec) -> Observer:
        if os.environ.get("K_SERVICE"):  # served (Knative, the runtime), not imported by a test
            logs.configure(os.environ["K_SERVICE"])
        return cls(spec.name, (spec.path if spec.kind == HTTP else spec.event_type) or "event",
                   TRIGGERS.get(spec.kind, "other"), os.environ.get("K_SERVICE") or spec.name,
                   otlp.configured())

    def answered(self, span: trace.Span, method: str, status: int, seconds: float, wall_ns: int,
                 event_id: str | None = None) -> Callable[[], None] | None:
        """Count and log the answer; the span's export, to run once the answer is out."""
        metrics.observe(self.function, self.route, status, seconds)
        log.info("%s %s %s", method, self.route, status, extra={
            "method": method, "route": self.route, "status": status,
            "duration_ms": round(seconds * 1000, 1), "event_id": event_id})
        if not self.exporting:
            return None
        return functools.partial(
            otlp.record, self.service, span, name=f"{method} {self.route}", started_ns=wall_ns,
            ended_ns=wall_ns + int(seconds * 1e9), status=status, function=self.function,
            route=self.route, attributes={
                "http.request.method": method, "http.route": self.route,
                "http.response.status_code": status, "faas.trigger": self.trigger,
                "cloudevents.event_id": event_id})


def spec_of(handler: Handler, kind: str, scaling: Scaling | None, **fields: Any) -> FunctionSpec:
    return FunctionSpec(
        name=handler.__name__.replace("_", "-"),
        target=handler.__name__,
        module=handler.__module__.rsplit(".", 1)[-1],
        kind=kind,
        summary=(inspect.getdoc(handler) or "").split("\n")[0],
        scaling=scaling or Scaling(),
        **fields,
    )


def health(request: flask.Request) -> flask.Response | None:
    if request.path == HEALTH_PATH and request.method == "GET":
        return json_response({"status": "ok"})
    return None
