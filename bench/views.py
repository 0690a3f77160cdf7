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
Phase 3, sustained through the front door, as players send them: the same load at the
platform's API port (nginx, then record-view under the runtime, which adds workers as it
would for a crowd), from logged-in viewers (one address counts at most ten anonymous ones,
and every client here is 127.0.0.1 to nginx); the CPU each part of the machine used, per
join, says what bounds it; then the rollup's views against the joins accepted.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import statistics
import time
import uuid

from harness import BENCH_PROFILE, first_answer, free_port, machine_seconds, start_broker, start_function

from local.services import terminate  # noqa: E402 - after harness sets the path

CLIENTS = int(os.environ.get("BENCH_CLIENTS", 4))
THREADS = int(os.environ.get("BENCH_THREADS", 8))
SECONDS = float(os.environ.get("BENCH_SECONDS", 3))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
DURATION = float(os.environ.get("BENCH_DURATION", 60))
RATE = float(os.environ.get("BENCH_RATE", 2000))


def client(port: int, path: str, body: bool, seconds: float, rate: float, out,
           tokens: tuple[str, ...] = ()) -> None:
    """Send for `seconds`, at most `rate` a second; put (sent, accepted) on `out`. With
    `tokens`, each join is a logged-in viewer's, in turn."""
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
        if tokens:
            headers["Authorization"] = f"Bearer {tokens[sent % len(tokens)]}"
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


def load(port: int, path: str, body: bool, seconds: float, rate: float = 0,
         tokens: tuple[str, ...] = ()) -> tuple[int, int]:
    out = multiprocessing.Queue()
    per_client = rate / CLIENTS if rate else 0
    workers = [multiprocessing.Process(target=client,
                                       args=(port, path, body, seconds, per_client, out, tokens))
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


def viewer_tokens(count: int) -> tuple[str, ...]:
    """Access tokens of `count` new accounts."""
    from shared_lib.accounts.models import User
    from shared_lib.db import UnitOfWork
    from shared_lib.security import get_signer

    with UnitOfWork() as uow:
        users = [uow.users.add(User(id=uuid.uuid4(), username=f"bw{uuid.uuid4().hex[:8]}",
                                    email=f"{uuid.uuid4().hex}@example.com", password_hash="x",
                                    display_name="viewer"))
                 for _ in range(count)]
        uow.commit()
    return tuple(get_signer().issue(user_id=u.id, username=u.username, session_id=uuid.uuid4())[0]
                 for u in users)


def total_views(stream_id: str) -> int:
    """The stream's views in PostgreSQL, after a rollup of what Redis holds."""
    from shared_lib.analytics.rollup import rollup
    from shared_lib.cache import get_redis_bytes
    from shared_lib.db import UnitOfWork

    with UnitOfWork() as uow:
        rollup(uow, get_redis_bytes(), uuid.UUID(stream_id), now=time.time(), window=60)
        uow.commit()
    with UnitOfWork() as uow:
        return uow.analytics.stats(uuid.UUID(stream_id)).total_views


def parts(platform) -> dict[str, list[int]]:
    """The processes of each part a join passes through."""
    from harness import tree

    masters = {"nginx (front door)": b"frontdoor", "redis": str(BENCH_PROFILE.redis_port).encode(),
               "postgresql": str(BENCH_PROFILE.home).encode()}
    named: dict[str, list[int]] = {name: [] for name in masters}
    for pid in tree(1):
        try:
            command = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ")
        except OSError:
            continue
        for name, mark in masters.items():
            if mark in command and command.split(b" ")[0].split(b"/")[-1] in (
                    b"nginx:", b"redis-server", b"postgres"):
                named[name] += tree(pid)
    named["record-view"] = tree(platform.runtime.instances["record-view"].process.pid)
    named["runtime, broker (bench)"] = [os.getpid()]
    return named


def main() -> None:
    from harness import cpu_seconds

    from local.platform import Platform
    from local.settings import Ports
    from tests.e2e.conftest import free_port as free

    platform = Platform(BENCH_PROFILE, Ports(api=free(), hls=free(), internal=free(), rtmp=free(),
                                             rtmps=free(), stat=free(), sidecar=free(),
                                             functions=23600),
                        environment="development", schedule=False, ingest=False,
                        idle_seconds=3600, scale_down_seconds=3600)
    platform.start()
    # K_SERVICE: each request writes its log line, as a served function does.
    env = {**platform.env, "THREADS": str(THREADS), "K_SINK": start_broker()[0],
           "K_SERVICE": "record-view"}
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
        print(f"record-view throughput ratio {views / hello:.3f} (target 0.7 or more)", flush=True)

        began = time.monotonic()
        sent, accepted = load(ports["views"], path, True, DURATION, RATE)
        took = time.monotonic() - began
        accepted_total += accepted
        rolled = total_views(stream_id)
        print(f"sustained {DURATION:.0f} s, own port: {sent} sent, {accepted} accepted, "
              f"{accepted / took:.0f} joins/s (asked for {RATE:.0f}/s)")
        print(f"rolled-up views {rolled} vs accepted {accepted_total}: "
              f"{'equal' if rolled == accepted_total else 'DIFFERENT'}", flush=True)
        terminate(processes)
        processes = []

        tokens = viewer_tokens(100)
        load(platform.ports.api, path, True, 5, RATE, tokens)  # the runtime's workers come up
        before_views = total_views(stream_id)
        components = parts(platform)
        used = {name: cpu_seconds(pids) for name, pids in components.items()}
        machine, began, reaped = machine_seconds(), time.monotonic(), os.times()
        sent, accepted = load(platform.ports.api, path, True, DURATION, RATE, tokens)
        took, machine, reaped_now = time.monotonic() - began, machine_seconds() - machine, os.times()
        clients = (reaped_now.children_user + reaped_now.children_system
                   - reaped.children_user - reaped.children_system)
        after = {name: cpu_seconds(parts(platform)[name]) for name in components}
        rolled = total_views(stream_id) - before_views
        print(f"sustained {DURATION:.0f} s through the front door, logged-in viewers: {sent} sent, "
              f"{accepted} accepted, {accepted / took:.0f} joins/s (asked for {RATE:.0f}/s); "
              f"rolled-up views {rolled}: {'equal' if rolled == accepted else 'DIFFERENT'}")
        print(f"CPU per join, ms (the machine used {machine / took:.2f} of "
              f"{os.cpu_count()} cores):")
        for name in components:
            seconds = sum(after[name].get(pid, 0) - used[name].get(pid, 0) for pid in after[name])
            print(f"  {name:24s} {seconds / max(sent, 1) * 1e3:6.3f}")
        print(f"  {'load clients':24s} {clients / max(sent, 1) * 1e3:6.3f}")
    finally:
        terminate(processes)
        platform.stop()
        platform.stop_servers()


if __name__ == "__main__":
    main()
