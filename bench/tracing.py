"""What tracing costs: record-view with OTLP export off and on (to a collector stand-in).

Two record-view processes run side by side against the `bench` profile's PostgreSQL and
Redis, alike but for OTEL_EXPORTER_OTLP_ENDPOINT: unset in one, the collector stand-in
(bench/collector.py) in the other. Both log their JSON request lines (K_SERVICE set), as
served functions do.

Throughput: CLIENTS client processes join sessions on one, then the other, in ROUNDS
interleaved rounds of SECONDS each; prints both rates and on/off (target: 0.9 or more).
Cold start: ROUNDS times, a new process of each is started and timed from its start to its
first accepted join; prints both medians and on/off.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid

from harness import BENCH_PROFILE, first_answer, free_port, request, start_broker, start_function
from views import live_stream, load

from local.services import terminate  # noqa: E402 - after harness sets the path

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
SECONDS = float(os.environ.get("BENCH_SECONDS", 3))


def join(port: int, path: str) -> int:
    body = f'{{"session_id": "{uuid.uuid4()}", "action": "join"}}'.encode()
    status, _ = request(port, "POST", path, body, {"Content-Type": "application/json",
                                                   "X-Forwarded-For": "10.9.9.9"})
    return status


def cold(env: dict[str, str], path: str) -> float:
    """Seconds from a new record-view process's start to its first accepted join."""
    port = free_port()
    began = time.monotonic()
    process = start_function("functions/analytics.py", "record_view", port, env, asgi=True)
    try:
        first_answer(port, "GET", "/healthz", None, began + 60)
        while join(port, path) >= 300:
            time.sleep(0.01)
        return time.monotonic() - began
    finally:
        terminate([process])


def main() -> None:
    from local.platform import Platform
    from local.settings import Ports

    platform = Platform(BENCH_PROFILE, Ports(), environment="development")
    env = platform.start_servers()
    env.update({"THREADS": "8", "K_SINK": start_broker()[0], "K_SERVICE": "record-view"})
    collector_port = free_port()
    collector = start_function("bench/collector.py", "collect", collector_port, env)
    off = dict(env)
    on = {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector_port}",
          "OTEL_METRIC_EXPORT_INTERVAL": "5000"}
    path = f"/api/streams/{live_stream()}/views"
    ports = {"off": free_port(), "on": free_port()}
    processes = [start_function("functions/analytics.py", "record_view", ports["off"], off, asgi=True),
                 start_function("functions/analytics.py", "record_view", ports["on"], on, asgi=True)]
    try:
        first_answer(collector_port, "GET", "/", None, time.monotonic() + 60)
        for port in ports.values():
            first_answer(port, "GET", "/healthz", None, time.monotonic() + 60)
        rates: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(ROUNDS):
            for name, port in ports.items():
                rates[name].append(load(port, path, True, SECONDS)[1] / SECONDS)
        off_rate, on_rate = statistics.median(rates["off"]), statistics.median(rates["on"])
        print(f"record-view  tracing off {off_rate:8.1f} joins/s   on {on_rate:8.1f} joins/s   "
              f"on/off {on_rate / off_rate:.3f} (target 0.9 or more)")
        starts: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(ROUNDS):
            starts["off"].append(cold(off, path))
            starts["on"].append(cold(on, path))
        cold_off, cold_on = statistics.median(starts["off"]), statistics.median(starts["on"])
        taken = json.loads(request(collector_port, "GET", "/")[1])
        print(f"the collector took {taken['exports']} exports, {taken['bytes']:,} bytes")
        print(f"cold start   tracing off {cold_off:.3f} s   on {cold_on:.3f} s   "
              f"on/off {cold_on / cold_off:.3f} (first accepted join from a new process)")
    finally:
        terminate([*processes, collector])
        platform.stop_servers()


if __name__ == "__main__":
    sys.exit(main())
