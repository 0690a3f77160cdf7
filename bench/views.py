"""record-view: throughput against the hello-world, then a sustained load whose rolled-up
counts must equal what was sent.

Both functions run as their own functions-framework process (1 worker, THREADS threads)
against the `bench` profile's Redis and PostgreSQL. CLIENTS client processes keep their
connections open. Every record-view request is a join of a new session (a write of every
counter), so the number of views is the number of requests accepted.

Phase 1, throughput: the hello-world and record-view, interleaved in ROUNDS rounds of
SECONDS each; prints both rates and the ratio (target 0.7 or more, issue #19).
Phase 2, sustained: DURATION seconds at up to RATE joins a second (the most this machine
sustains is printed if it falls short), then one rollup, then the stream's total views in
PostgreSQL against the number of joins the function accepted.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import statistics
import time
import uuid

from harness import BENCH_PROFILE, first_answer, free_port, start_broker, start_function

from local.services import terminate  # noqa: E402 - after harness sets the path

CLIENTS = int(os.environ.get("BENCH_CLIENTS", 4))
THREADS = int(os.environ.get("BENCH_THREADS", 8))
SECONDS = float(os.environ.get("BENCH_SECONDS", 3))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
DURATION = float(os.environ.get("BENCH_DURATION", 60))
RATE = float(os.environ.get("BENCH_RATE", 2000))


def client(port: int, path: str, body: bool, seconds: float, rate: float, out) -> None:
    """Send for `seconds`, at most `rate` a second; put (sent, accepted) on `out`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = accepted = 0
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        if rate and sent > elapsed * rate:
            time.sleep(0.001)
            continue
        session = uuid.uuid4()
        payload = json.dumps({"session_id": str(session), "action": "join"}) if body else None
        # Each viewer from an address of its own, as an audience is: one address counts at
        # most ten anonymous viewers of a stream.
        viewer = ".".join(str(b) for b in session.bytes[:3])
        headers = {"Content-Type": "application/json", "X-Forwarded-For": f"10.{viewer}"} if body else {}
        try:
            connection.request("POST" if body else "GET", path, body=payload, headers=headers)
            response = connection.getresponse()
            response.read()
            sent += 1
            accepted += response.status < 300
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out.put((sent, accepted))


def load(port: int, path: str, body: bool, seconds: float, rate: float = 0) -> tuple[int, int]:
    out = multiprocessing.Queue()
    per_client = rate / CLIENTS if rate else 0
    workers = [multiprocessing.Process(target=client, args=(port, path, body, seconds, per_client, out))
               for _ in range(CLIENTS)]
    for worker in workers:
        worker.start()
    results = [out.get() for _ in workers]
    for worker in workers:
        worker.join()
    return sum(r[0] for r in results), sum(r[1] for r in results)


def live_stream() -> str:
    """A channel live now, with no viewers yet: its stream's id."""
    from sqlalchemy import text

    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork
    from shared_lib.streams import live_set

    with UnitOfWork() as uow:
        name = f"bv{uuid.uuid4().hex[:8]}"
        user = uow.users.add(User(id=uuid.uuid4(), username=name, email=f"{name}@example.com",
                                  password_hash="x", display_name=name))
        stream = uow.streams.create_with_metadata({"title": "bench"}, id=uuid.uuid4(), user_id=user.id,
                                                  status="live")
        uow.session.execute(text("UPDATE live_streams SET started_at = now() WHERE id = :i"),
                            {"i": stream.id})
        uow.commit()
    live_set.mark(stream.id, live=True)
    return str(stream.id)


def main() -> None:
    from local.platform import Platform
    from local.settings import Ports
    from shared_lib.analytics.rollup import rollup
    from shared_lib.cache import get_redis_bytes
    from shared_lib.db import UnitOfWork

    platform = Platform(BENCH_PROFILE, Ports(),
                        environment="development")
    env = platform.start_servers()
    # K_SERVICE: each request writes its log line, as a served function does.
    env.update({"THREADS": str(THREADS), "K_SINK": start_broker()[0], "K_SERVICE": "record-view"})
    stream_id = live_stream()
    ports = {"hello": free_port(), "views": free_port()}
    processes = [start_function("bench/hello.py", "hello", ports["hello"], env),
                 start_function("functions/analytics.py", "record_view", ports["views"], env, asgi=True)]
    path = f"/api/streams/{stream_id}/views"
    try:
        for port in ports.values():
            first_answer(port, "GET", "/healthz", None, time.monotonic() + 60)
        hello_rates, view_rates, accepted_total = [], [], 0
        for _ in range(ROUNDS):
            hello_rates.append(load(ports["hello"], "/", False, SECONDS)[0] / SECONDS)
            sent, accepted = load(ports["views"], path, True, SECONDS)
            view_rates.append(accepted / SECONDS)
            accepted_total += accepted
        hello, views = statistics.median(hello_rates), statistics.median(view_rates)
        print(f"hello-world  {hello:8.1f} req/s   record-view {views:8.1f} req/s "
              f"({CLIENTS} client processes, {THREADS} threads)")
        print(f"record-view throughput ratio {views / hello:.3f} (target 0.7 or more)")

        began = time.monotonic()
        sent, accepted = load(ports["views"], path, True, DURATION, RATE)
        took = time.monotonic() - began
        accepted_total += accepted
        with UnitOfWork() as uow:
            rollup(uow, get_redis_bytes(), uuid.UUID(stream_id), now=time.time(), window=60)
            uow.commit()
        with UnitOfWork() as uow:
            rolled = uow.analytics.stats(uuid.UUID(stream_id)).total_views
        print(f"sustained {DURATION:.0f} s: {sent} sent, {accepted} accepted, "
              f"{accepted / took:.0f} joins/s (asked for {RATE:.0f}/s)")
        print(f"rolled-up views {rolled} vs accepted {accepted_total}: "
              f"{'equal' if rolled == accepted_total else 'DIFFERENT'}")
    finally:
        terminate(processes)
        platform.stop_servers()


if __name__ == "__main__":
    main()
