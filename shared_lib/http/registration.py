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

log = logging.getLogger("streamfn.requests")


def parameters_of(handler: Handler) -> set[str]:
    return set(inspect.signature(handler).parameters)


def register(spec: FunctionSpec, handler: Handler, view: View) -> Handler:
    route = (spec.path if spec.kind == HTTP else spec.event_type) or "event"

    @functools.wraps(handler)
    def function(request: flask.Request) -> flask.Response:
        if request.path == HEALTH_PATH:
            return safe(request)
        if request.path == METRICS_PATH and request.method == "GET":
            # This process's request metrics, for a scrape of the pod (in a cluster; the
            # runtime's /metrics sums them on one machine). No route of the catalog is this,
            # so neither front door passes it on.
            page = metrics.exposition(metrics.request_families(metrics.REQUESTS.snapshot()))
            return flask.Response(page, mimetype="text/plain; version=0.0.4")
        with trace.span(trace.incoming(request.headers)) as span:
            started, wall = time.perf_counter(), time.time_ns()
            response = safe(request)
            seconds = time.perf_counter() - started
            metrics.observe(spec.name, route, response.status_code, seconds)
            event_id = request.headers.get("ce-id")
            log.info("%s %s %s", request.method, route, response.status_code, extra={
                "method": request.method, "route": route, "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1), "event_id": event_id})
            if exporting:  # after the answer has gone out: the caller never waits on it
                response.call_on_close(functools.partial(
                    otlp.record, service, span, name=f"{request.method} {route}", started_ns=wall,
                    ended_ns=wall + int(seconds * 1e9), status=response.status_code,
                    function=spec.name, route=route, attributes={
                        "http.request.method": request.method, "http.route": route,
                        "http.response.status_code": response.status_code,
                        "faas.trigger": TRIGGERS.get(spec.kind, "other"),
                        "cloudevents.event_id": event_id}))
            return response

    safe = guarded(spec.name, view)
    service = os.environ.get("K_SERVICE") or spec.name
    exporting = otlp.configured()
    if os.environ.get("K_SERVICE"):  # served (Knative, the runtime), not imported by a test
        logs.configure(os.environ["K_SERVICE"])
    # What the catalog, the tests and the OpenAPI document read off a declared function.
    setattr(function, "spec", spec)  # noqa: B010 - an attribute functools.wraps' type lacks
    setattr(function, "handler", handler)  # noqa: B010 - the same
    catalog.register(spec)
    return cast(Handler, functions_framework.http(function))


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
