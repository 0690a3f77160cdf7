"""Cold start as a client meets it: every function's first *real* request from zero.

The whole one-machine platform runs (front door, runtime, broker, PostgreSQL, Redis), with
idle functions scaling to zero after IDLE seconds. Each round waits until a function has no
instance, then sends it what a client sends: a valid token, a valid body, ids that exist
(a channel, its stream, a replay, a clip, a chat message, a webhook, a dead letter, all made
first). HTTP functions are asked through the front door; event and scheduled functions on
their own port, as the broker reaches them, with a real CloudEvent and the OIDC token the
broker presents. The time is from the request to its first *successful* (2xx) answer.

Two baselines behind the same front door, started the same way in the same rounds:
`hello-world` (bare functions-framework) and `hello-libs` (the same third-party imports as
the functions and a PostgreSQL and a Redis connection opened before answering); the
recommendations recompute, which also imports numpy and scipy, against `hello-numeric`
(hello-libs importing those too). The baselines are started again every STRIDE functions,
and each ratio's denominator is the median of all their starts. Targets: every function
<= 2.5x hello-world and <= 1.3x its libraries' baseline.

Each start waits for a quiet machine (under 15% of its cores busy). A request's events wake
other functions (a stream the reaper ends starts four of them); on two cores, a start timed
beside those measured theirs too: recommended-streams took 2.9 s after reap-stale-streams,
1.1-1.3 s otherwise.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time

from cold_world import PING, World, build_world, event_requests, fill, http_requests
from harness import median, request, wait_quiet

from shared_lib.catalog import HTTP, FunctionSpec  # noqa: E402 - after harness sets the path

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
IDLE = 2.0
QUIET = os.environ.get("BENCH_QUIET", "1") == "1"
STRIDE = 12
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
BASELINES = [
    FunctionSpec(name="hello-world", target="hello", module="../bench/hello", kind=HTTP,
                 method="GET", path="/api/bench/hello"),
    FunctionSpec(name="hello-libs", target="hello_libs", module="../bench/hello_libs", kind=HTTP,
                 method="GET", path="/api/bench/hello-libs"),
    FunctionSpec(name="hello-numeric", target="hello_numeric", module="../bench/hello_libs",
                 kind=HTTP, method="GET", path="/api/bench/hello-numeric"),
]
# The functions importing numpy and scipy as well: measured against hello-numeric.
NUMERIC = {"recompute-recommendations"}
# The functions whose answer checks or hashes one password (bcrypt), warm or cold.
HASHING = ("login", "register")


def bcrypt_seconds() -> tuple[int, float]:
    """The cost the platform hashes passwords at, and one check at it, here and now."""
    import bcrypt

    from shared_lib.config import get_settings

    rounds = get_settings().bcrypt_rounds
    hashed = bcrypt.hashpw(b"correct horse battery", bcrypt.gensalt(rounds))
    took = []
    for _ in range(3):
        began = time.perf_counter()
        bcrypt.checkpw(b"correct horse battery", hashed)
        took.append(time.perf_counter() - began)
    return rounds, median(took)


def wait_cold(platform, name: str) -> None:
    deadline = time.monotonic() + 60
    while platform.runtime.status()[name]["running"] and time.monotonic() < deadline:
        time.sleep(0.05)


def first_request(platform, spec: FunctionSpec, w: World, routes: dict, events: dict,
                  tokens) -> tuple[float, int]:
    """Seconds from the request to a function with no instance to its answer, and the status."""
    ports = platform.ports
    if spec.name in {b.name for b in BASELINES}:
        prepared: tuple = (ports.api, spec.method, spec.path, None, {})
    elif spec.kind == HTTP:
        method, path, body, token, *extra = routes[spec.name]
        headers = dict(extra[0]) if extra else {}
        token = fill(token, w, ports.api)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = fill(body, w, ports.api)
        raw = None if body is None else json.dumps(body).encode()
        if raw is not None:
            headers["Content-Type"] = "application/json"
        prepared = (ports.internal if spec.internal else ports.api, method, fill(path, w, ports.api),
                    raw, headers)
    else:
        from tests.factories import cloudevent

        if spec.kind == "schedule":
            kind, data = PING, {}
            source = f"/apis/v1/namespaces/streamfn/pingsources/{spec.name}"
        else:
            kind, data = events[spec.name]
            source = "/bench/cold-start"
        headers, body = cloudevent(kind, fill(data, w, ports.api), source=source)
        headers["Authorization"] = f"Bearer {tokens(spec.name)}"
        prepared = (platform.runtime.instances[spec.name].port, "POST", "/", body, headers)
    wait_cold(platform, spec.name)
    busy = wait_quiet() if QUIET else -1.0
    if os.environ.get("BENCH_TRACE"):
        print(f"  {spec.name}: machine busy {busy:.2f}, running "
              f"{sorted(n for n, s in platform.runtime.status().items() if s['running'])}", flush=True)
    began = time.monotonic()
    if spec.stream:  # an event stream: answered once its headers arrive
        connection = http.client.HTTPConnection("127.0.0.1", prepared[0], timeout=60)
        try:
            connection.request(*prepared[1:4], headers=prepared[4])
            status = connection.getresponse().status
        finally:
            connection.close()
    else:
        status, _ = request(*prepared, timeout=60)
    return time.monotonic() - began, status


def main() -> None:
    from local import issuer
    from local.platform import Platform
    from local.services import Profile
    from local.settings import Ports
    from tests.e2e.conftest import free_port

    ports = Ports(api=free_port(), hls=free_port(), internal=free_port(), rtmp=free_port(),
                  rtmps=free_port(), stat=free_port(), sidecar=free_port(), functions=23000)
    profile = Profile("bench-runtime", pg_port=free_port(), redis_port=free_port())
    platform = Platform(profile, ports, environment="development", schedule=False,
                        idle_seconds=IDLE, scale_down_seconds=5, extra_specs=BASELINES)
    platform.start()
    os.environ.update(platform.env)
    try:
        from local.platform import reset_caches

        reset_caches()
        w = build_world(ports.api)
        routes, events = http_requests(w), event_requests(w)
        tokens = issuer.SubscriberTokens(issuer.Issuer(profile.home / "keys"))
        from functions import load_catalog

        warm = {name for name, i in platform.runtime.instances.items() if i.policy.min_scale}
        functions = [s for s in load_catalog() if (not ONLY or s.name in ONLY) and s.name not in warm]
        # The baselines again every STRIDE functions: a ratio's denominator is then the
        # median of several starts spread over the run, not of one start a round.
        specs = [spec for at in range(0, len(functions), STRIDE)
                 for spec in BASELINES + functions[at:at + STRIDE]]
        times: dict[str, list[float]] = {}
        refused: dict[str, set[int]] = {}
        for _ in range(ROUNDS):
            for spec in specs:
                seconds, status = first_request(platform, spec, w, routes, events, tokens)
                if 200 <= status < 300:
                    times.setdefault(spec.name, []).append(seconds)
                else:
                    refused.setdefault(spec.name, set()).add(status)
        base = {b.name: times.pop(b.name) for b in BASELINES}
        hello, libs, numeric = (median(base[name]) for name in ("hello-world", "hello-libs",
                                                                "hello-numeric"))
        print(f"first real request from zero, median of {ROUNDS} (HTTP through the front door, "
              "events on their own port), each started on a quiet machine")

        def spread(name: str) -> str:
            return (f"median of {len(base[name])} starts, {min(base[name]):.3f}-"
                    f"{max(base[name]):.3f} s")

        print(f"{'hello-world':28s} {hello:6.3f} s  ({spread('hello-world')})")
        print(f"{'hello-libs':28s} {libs:6.3f} s  ({libs / hello:.2f}x hello-world; "
              f"{spread('hello-libs')})")
        print(f"{'hello-numeric':28s} {numeric:6.3f} s  ({numeric / hello:.2f}x hello-world; "
              f"{spread('hello-numeric')}; the baseline of {', '.join(sorted(NUMERIC))})")
        worst_bare = worst_libs = 0.0
        for name, values in sorted(times.items(), key=lambda kv: -median(kv[1])):
            bare = median(values) / hello
            over = median(values) / (numeric if name in NUMERIC else libs)
            worst_bare, worst_libs = max(worst_bare, bare), max(worst_libs, over)
            print(f"{name:28s} {median(values):6.3f} s  {bare:5.2f}x hello-world  "
                  f"{over:5.2f}x hello-{'numeric' if name in NUMERIC else 'libs'}")
        rounds, hashing = bcrypt_seconds()
        for name in sorted(set(HASHING) & set(times)):
            rest = median(times[name]) - hashing
            print(f"{name}: its answer hashes a password (bcrypt, cost {rounds}) cold or warm, "
                  f"{hashing:.3f} s in this run; the rest, {rest:.3f} s, is {rest / libs:.2f}x "
                  "hello-libs")
        for name, statuses in sorted(refused.items()):
            print(f"{name:28s} answered {sorted(statuses)} in some round: not counted")
        skipped = sorted(warm)
        if skipped:
            print(f"always warm (min-scale 1), not measured: {', '.join(skipped)}")
        print(f"worst: {worst_bare:.2f}x hello-world (target 2.5 or less), "
              f"{worst_libs:.2f}x its libraries' baseline (target 1.3 or less)")
    finally:
        platform.stop()
        platform.stop_servers()


if __name__ == "__main__":
    sys.exit(main())
