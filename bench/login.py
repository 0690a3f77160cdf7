"""Login throughput against raw bcrypt.checkpw at the same cost, in the same run.

The login function runs as its own functions-framework process against the private
PostgreSQL and Redis (a `bench` profile under .local/), at the production cost of 12.
Both sides run sequentially from one client, in interleaved blocks, so the ratio is
login's per-request overhead (HTTP, validation, throttle, query, token signing) over
the bcrypt work that dominates both.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import bcrypt
from harness import BENCH_PROFILE, first_answer, free_port, request, start_function

from local.services import terminate  # noqa: E402 - after harness sets the path

COST = int(os.environ.get("BENCH_BCRYPT_ROUNDS", 12))
BLOCKS = int(os.environ.get("BENCH_BLOCKS", 4))
PER_BLOCK = int(os.environ.get("BENCH_PER_BLOCK", 5))


def main() -> None:
    from local.platform import Platform
    from local.settings import Ports

    profile = BENCH_PROFILE
    platform = Platform(profile, Ports(), environment="development")
    env = platform.start_servers()
    env.update({"STREAMFN_BCRYPT_ROUNDS": str(COST), "THREADS": "2"})
    port = free_port()
    process = start_function("functions/accounts.py", "login", port, env)
    register_port = free_port()
    registrar = start_function("functions/accounts.py", "register", register_port, env)
    try:
        first_answer(port, "GET", "/healthz", None, time.monotonic() + 60)
        first_answer(register_port, "GET", "/healthz", None, time.monotonic() + 60)
        name = f"bench_{uuid.uuid4().hex[:8]}"
        password = b"correct horse battery"
        status, _ = request(register_port, "POST", "/api/auth/register", json.dumps(
            {"username": name, "email": f"{name}@example.com", "password": password.decode()}
        ).encode(), {"Content-Type": "application/json"})
        assert status == 201, status
        body = json.dumps({"username": name, "password": password.decode()}).encode()
        stored = bcrypt.hashpw(password, bcrypt.gensalt(COST))
        # One login first: the function's lazy imports and its first connections are cold
        # start (bench/cold_start.py), not throughput.
        assert request(port, "POST", "/api/auth/login", body,
                       {"Content-Type": "application/json"})[0] == 200
        raw_time = login_time = 0.0
        for _ in range(BLOCKS):
            started = time.perf_counter()
            for _ in range(PER_BLOCK):
                assert bcrypt.checkpw(password, stored)
            raw_time += time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(PER_BLOCK):
                status, _ = request(port, "POST", "/api/auth/login", body,
                                    {"Content-Type": "application/json"})
                assert status == 200, status
            login_time += time.perf_counter() - started
        count = BLOCKS * PER_BLOCK
        raw_rate, login_rate = count / raw_time, count / login_time
        print(f"bcrypt cost {COST}, {count} of each, interleaved in {BLOCKS} blocks")
        print(f"raw bcrypt.checkpw  {raw_rate:6.2f}/s")
        print(f"login over HTTP     {login_rate:6.2f}/s")
        print(f"ratio {login_rate / raw_rate:.3f} (target 0.9 or more)")
    finally:
        terminate([process, registrar])
        platform.stop_servers()


if __name__ == "__main__":
    main()
