"""The home page and the stream page at speed: warm throughput of list-streams (the live
directory, 20 live channels) and get-stream, as anonymous viewers ask for them, against a
bare functions-framework hello-world on its own port, and through the front door against
jwks through the same front door; interleaved rounds, medians, with wrk.

Targets (#19): list-streams and get-stream >= 0.7x hello-world on their own ports, and
>= 0.6x jwks through the front door.
"""

from __future__ import annotations

import json
import os
import sys
import uuid

from harness import median, request
from runtime import HELLO, wrk

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
LIVE = 20


def main() -> None:
    from local.platform import Platform
    from local.services import Profile
    from local.settings import Ports
    from tests.e2e.conftest import free_port

    ports = Ports(api=free_port(), hls=free_port(), internal=free_port(), rtmp=free_port(),
                  rtmps=free_port(), stat=free_port(), sidecar=free_port(), functions=23500)
    profile = Profile("bench-home", pg_port=free_port(), redis_port=free_port())
    # Workers stay for the whole bench: the front door's cache answers list-streams and
    # get-stream in their front-door rounds, so they sat idle for most of each round and lost
    # the second worker the hello-world (never cached) kept. Their own-port rounds then began
    # on one worker, against a hello-world on two.
    platform = Platform(profile, ports, environment="development", schedule=False, ingest=False,
                        idle_seconds=3600, scale_down_seconds=3600, extra_specs=[HELLO])
    platform.start()
    try:
        streams = []
        for i in range(LIVE):
            name = f"home_{uuid.uuid4().hex[:8]}"
            status, body = request(ports.api, "POST", "/api/auth/register", json.dumps(
                {"username": name, "email": f"{name}@example.com", "password": "correct horse"}).encode(),
                {"Content-Type": "application/json"})
            token = json.loads(body)["access_token"]
            status, body = request(ports.api, "POST", "/api/streams",
                                   json.dumps({"title": f"channel {i}", "tags": ["bench"]}).encode(),
                                   {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            streams.append(json.loads(body)["id"])
        # Live, as the ingest events would leave them (the bench has no encoders).
        from sqlalchemy import text

        from shared_lib.db import UnitOfWork

        with UnitOfWork() as uow:
            uow.session.execute(text("UPDATE live_streams SET status = 'live', started_at = now(), "
                                     "viewer_count = floor(random() * 100) WHERE id = ANY(:ids)"),
                                {"ids": streams})
            uow.commit()
        api = f"http://127.0.0.1:{ports.api}"
        paths = {"hello-world": "/api/bench/hello", "jwks": "/api/auth/jwks.json",
                 "list-streams": "/api/streams?live=true&limit=20",
                 "get-stream": f"/api/streams/{streams[0]}"}
        status, body = request(ports.api, "GET", paths["list-streams"])
        assert status == 200 and len(json.loads(body)["items"]) == LIVE, body[:300]
        own, front = {}, {}
        for name, path in paths.items():
            wrk(f"{api}{path}")  # the cold start, then warm
            # ...and on its own port, which the front door's cache had spared: the runtime
            # adds the workers this load asks for now, not during the first round.
            wrk(f"http://127.0.0.1:{platform.runtime.instances[name].port}{path}")
        for _ in range(ROUNDS):
            for name, path in paths.items():
                port = platform.runtime.instances[name].port
                own.setdefault(name, []).append(wrk(f"http://127.0.0.1:{port}{path}"))
                front.setdefault(name, []).append(wrk(f"{api}{path}"))
    finally:
        platform.stop()
        platform.stop_servers()
    hello, jwks = median(own["hello-world"]), median(front["jwks"])
    print(f"warm throughput, wrk -t2 -c16, median of {ROUNDS} interleaved rounds")
    print(f"   {'':14s} {'own port':>10s} {'vs hello':>9s} {'front door':>11s} {'vs jwks':>8s}")
    for name in paths:
        print(f"   {name:14s} {median(own[name]):8.0f}/s {median(own[name]) / hello:8.2f}x "
              f"{median(front[name]):9.0f}/s {median(front[name]) / jwks:7.2f}x")
    print("   targets: list-streams and get-stream >= 0.70x hello-world, >= 0.60x jwks")


if __name__ == "__main__":
    sys.exit(main())
