"""A stand-in for an OpenTelemetry collector: takes OTLP/HTTP exports and answers 200, as a
collector does once it has queued them; GET says how many exports and bytes it took
(bench/tracing.py)."""

import threading

import functions_framework

_lock = threading.Lock()
TAKEN = {"exports": 0, "bytes": 0}


@functions_framework.http
def collect(request):
    if request.method == "GET":
        return dict(TAKEN)
    body = request.get_data()
    with _lock:
        TAKEN["exports"] += 1
        TAKEN["bytes"] += len(body)
    return "", 200, {"Content-Type": "application/x-protobuf"}
