"""The one-machine runtime as its users meet it: the front door's cost, cold starts from
zero, and the platform's memory.

1. Throughput of jwks and record-view through the front door (nginx) against the same
   warm function on its own port, with wrk, in interleaved rounds. Target: >= 0.9.
2. First-request latency of every function from zero through the front door (event and
   scheduled functions: on their own port, as the broker reaches them), against a bare
   functions-framework hello-world started the same way, behind the same front door.
3. Total RSS of every process the platform runs (runtime, nginx, PostgreSQL, Redis, the
   ingest sidecar, functions) once idle functions scaled to zero, and with every function
   warm. Target: idle under 1.5 GiB.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness import median, request, tree_rss

from shared_lib.catalog import HTTP, FunctionSpec  # noqa: E402 - after harness sets the path

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
SECONDS = int(os.environ.get("BENCH_SECONDS", 5))
IDLE = 3.0
HELLO = FunctionSpec(name="hello-world", target="hello", module="../bench/hello", kind=HTTP,
                     method="GET", path="/api/bench/hello")


def wrk(url: str, *, script: str | None = None) -> float:
    args = ["wrk", "-t2", "-c16", f"-d{SECONDS}s", "--latency", url]
    if script:
        args[1:1] = ["-s", script]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def post_script(body: dict) -> str:
    path = Path(tempfile.mkstemp(suffix=".lua")[1])
    path.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'
                    'wrk.headers["Content-Type"] = "application/json"\n')
    return str(path)


def wait_cold(platform, name: str) -> None:
    deadline = time.monotonic() + 60
    while platform.runtime.status()[name]["running"] and time.monotonic() < deadline:
        time.sleep(0.1)


def first_request(platform, spec: FunctionSpec) -> float:
    wait_cold(platform, spec.name)
    instance = platform.runtime.instances[spec.name]
    began = time.monotonic()
    if spec.kind == HTTP:
        path = re.sub(r"\{\w+\}", "x", spec.path)
        request(platform.ports.api if not spec.internal else platform.ports.internal,
                spec.method, path, b"{}" if spec.method in ("POST", "PUT", "PATCH") else None,
                {"Content-Type": "application/json"}, timeout=60)
    else:
        request(instance.port, "POST", "/", b"{}", {"Content-Type": "application/json"}, timeout=60)
    return time.monotonic() - began


def main() -> None:
    from local.platform import Platform
    from local.services import Profile
    from local.settings import Ports
    from tests.e2e.conftest import free_port

    ports = Ports(api=free_port(), hls=free_port(), internal=free_port(), rtmp=free_port(),
                  rtmps=free_port(), stat=free_port(), sidecar=free_port(), functions=23000)
    profile = Profile("bench-runtime", pg_port=free_port(), redis_port=free_port())
    platform = Platform(profile, ports, environment="development", schedule=False,
                        idle_seconds=IDLE, scale_down_seconds=5, extra_specs=[HELLO])
    platform.start()
    try:
        api = f"http://127.0.0.1:{ports.api}"
        owner = f"bench_{uuid.uuid4().hex[:8]}"
        status, body = request(ports.api, "POST", "/api/auth/register", json.dumps(
            {"username": owner, "email": f"{owner}@example.com", "password": "correct horse"}).encode(),
            {"Content-Type": "application/json"})
        assert status == 201, body
        token = json.loads(body)["access_token"]
        status, body = request(ports.api, "POST", "/api/streams", b'{"title": "bench"}',
                               {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        stream = json.loads(body)["id"]
        view = post_script({"session_id": str(uuid.uuid4()), "action": "heartbeat"})

        print("1. warm throughput, through the front door / on the function's own port")
        platform.idle_seconds = 3600
        for instance in platform.runtime.instances.values():
            instance.policy.idle_seconds = 3600
        for name, path, script in (("jwks", "/api/auth/jwks.json", None),
                                   ("record-view", f"/api/streams/{stream}/views", view)):
            own = platform.runtime.instances[name].port
            wrk(f"{api}{path}", script=script)  # warm up: the cold start, then the JIT-less warm path
            front, direct = [], []
            for _ in range(ROUNDS):
                front.append(wrk(f"{api}{path}", script=script))
                direct.append(wrk(f"http://127.0.0.1:{own}{path}", script=script))
            ratio = median(front) / median(direct)
            print(f"   {name:12s} {median(front):8.0f} req/s / {median(direct):8.0f} req/s   "
                  f"ratio {ratio:.2f} (target >= 0.90)")

        print("2. first request from zero, median of "
              f"{ROUNDS} (front door for HTTP, own port for events)")
        for instance in platform.runtime.instances.values():
            instance.policy.idle_seconds = IDLE
        specs = [s for s in platform.extra_specs] + [
            s for s in __import__("functions", fromlist=["x"]).load_catalog()]
        times: dict[str, list[float]] = {}
        warm = {name for name, i in platform.runtime.instances.items() if i.policy.min_scale}
        for _ in range(ROUNDS):
            for spec in specs:
                if spec.name not in warm:
                    times.setdefault(spec.name, []).append(first_request(platform, spec))
        baseline = median(times.pop(HELLO.name))
        print(f"   {'hello-world':28s} {baseline:6.3f} s  ratio 1.00")
        for name, values in sorted(times.items(), key=lambda kv: -median(kv[1])):
            print(f"   {name:28s} {median(values):6.3f} s  ratio {median(values) / baseline:.2f}")

        print("3. resident memory of the whole platform")
        for name in times:
            wait_cold(platform, name)
        time.sleep(1)
        idle = tree_rss(os.getpid())
        print(f"   idle, scaled to zero:  {idle / 2**20:7.0f} MiB (target < 1536 MiB)")
        for instance in platform.runtime.instances.values():
            instance.policy.idle_seconds = 3600
        for spec in specs:
            first_request(platform, spec) if not platform.runtime.status()[spec.name]["running"] else None
        time.sleep(2)
        print(f"   every function warm:   {tree_rss(os.getpid()) / 2**20:7.0f} MiB "
              f"({len(platform.runtime.instances)} functions)")
    finally:
        platform.stop()
        platform.stop_servers()


if __name__ == "__main__":
    sys.exit(main())
