"""Publish-to-live: from ffmpeg's exec to nginx's on_publish callback, to the stream being
live in the API, and to the first playable HLS segment; prints each (median of RUNS
publishes) and the API-live time as a ratio to the callback time.

The whole platform runs as `make dev` runs it (gateway, broker, nginx-rtmp, sidecar) on
free loopback ports, with the `bench` profile's PostgreSQL and Redis. The callback time
is read from the sidecar's log, which stamps each authorized publish.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from harness import BENCH_PROFILE  # (harness puts the repository on sys.path)

from tests.e2e.conftest import free_port, http, register_user
from tests.e2e.media import probe, publish, stop, wait_until

RUNS = int(os.environ.get("BENCH_RUNS", 5))


def callback_time(log: Path, stream_id: str, after: float) -> float | None:
    """When the sidecar logged the publish as authorized (its log is one JSON object a line)."""
    for line in reversed(log.read_text().splitlines()):
        if f"authorized as stream {stream_id}" in line:
            stamp = datetime.fromisoformat(json.loads(line)["time"]).timestamp()
            return stamp if stamp >= after - 1 else None
    return None


def main() -> None:
    from local.platform import Platform
    from local.settings import Ports

    ports = Ports(api=free_port(), hls=free_port(), internal=free_port(), rtmp=free_port(),
                  rtmps=free_port(), stat=free_port(), sidecar=free_port(), functions=free_port())
    platform = Platform(BENCH_PROFILE, ports,
                        schedule=False, environment="development")
    platform.start()
    api = platform.api_url
    log = platform.ingest.home / "logs" / "sidecar.log"
    rows = []
    try:
        name, tokens = register_user(api, "bi")
        token = tokens["access_token"]
        for _ in range(RUNS):
            key = http("POST", f"{api}/api/streams/key", token=token).json()
            began, wall = time.monotonic(), time.time()
            encoder = publish(f"{key['rtmp_url']}/{key['stream_key']}")
            try:
                def live():
                    items = http("GET", f"{api}/api/users/{name}/streams?limit=1").json()["items"]
                    return items[0] if items and items[0]["status"] == "live" else None
                stream = wait_until(live, timeout=30, interval=0.02)
                live_at = time.monotonic() - began
                hls = stream["playback"]["hls"]
                wait_until(lambda hls=hls: probe(hls), timeout=30, interval=0.05)
                playable_at = time.monotonic() - began
                callback = callback_time(log, stream["id"], wall)
                rows.append((callback - wall, live_at, playable_at))
            finally:
                stop(encoder)
            ended = f"{api}/api/streams/{stream['id']}"
            wait_until(lambda url=ended: http("GET", url).json()["status"] == "ended", timeout=30)
    finally:
        platform.stop()
        platform.stop_servers()
    callback, live, playable = (statistics.median(column) for column in zip(*rows, strict=False))
    print(f"publish to live, median of {RUNS} publishes (320x240 test pattern, 1 s keyframes)")
    print(f"exec -> on_publish callback     {callback:6.3f} s")
    print(f"exec -> live in the API         {live:6.3f} s")
    print(f"exec -> first playable HLS      {playable:6.3f} s")
    print(f"API-live / callback ratio       {live / callback:6.2f} (target 1.3 or less)")


if __name__ == "__main__":
    sys.exit(main())
