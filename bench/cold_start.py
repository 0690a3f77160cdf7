"""Cold start: exec to first answer for every function run as its own process, against a
bare functions-framework hello-world started the same way in the same run.

Rounds interleave the functions and the baseline so the shared machine's noise falls on
both. The first answer is to the function's own route (path parameters filled with a
placeholder, an empty JSON body): a 400 or 401 for most, a 404 or 200 from PostgreSQL for
the public reads, which therefore also pay for the database layer and a connection.
Prints one line per function: median seconds and the ratio to the baseline.
"""

from __future__ import annotations

import os
import sys
import time

from harness import BENCH_PROFILE, ROOT, first_answer, free_port, median, start_function

from local.services import terminate  # noqa: E402 - after harness sets the path

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 5))


def probe(spec) -> tuple[str, str, bytes | None]:
    if spec.kind != "http":
        return "POST", "/", b"{}"
    path = spec.path.replace("{", "").replace("}", "")
    return spec.method, path, b"{}" if spec.method in {"POST", "PUT", "PATCH"} else None


def cold_start(source: str, target: str, method: str, path: str, body, env) -> float:
    port = free_port()
    started = time.monotonic()
    process = start_function(source, target, port, env)
    try:
        first_answer(port, method, path, body, started + 60)
        return time.monotonic() - started
    finally:
        terminate([process])


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from functions import load_catalog
    from local.platform import Platform
    from local.settings import Ports

    # Real PostgreSQL and Redis: a function whose first answer needs them pays for them.
    platform = Platform(BENCH_PROFILE, Ports(),
                        environment="development")
    env = platform.start_servers()
    specs = load_catalog()
    times: dict[str, list[float]] = {"hello-world": []}
    for _ in range(ROUNDS):
        times["hello-world"].append(cold_start("bench/hello.py", "hello", "GET", "/", None, env))
        for spec in specs:
            times.setdefault(spec.name, []).append(cold_start(spec.source, spec.target, *probe(spec), env))
    baseline = median(times["hello-world"])
    print(f"cold start, median of {ROUNDS} rounds (exec to first answer)")
    print(f"{'hello-world':24s} {baseline:7.3f}s  ratio 1.00")
    worst = 0.0
    for name in sorted(n for n in times if n != "hello-world"):
        ratio = median(times[name]) / baseline
        worst = max(worst, ratio)
        print(f"{name:24s} {median(times[name]):7.3f}s  ratio {ratio:.2f}")
    print(f"worst ratio {worst:.2f} (target 2.00 or less)")
    platform.stop_servers()


if __name__ == "__main__":
    main()
