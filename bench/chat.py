"""Chat delivery at scale, as viewers meet it: one room, LISTENERS open Server-Sent Events
listeners through the front door (nginx, then chat-events under the runtime), RATE messages a
second sent through the front door by SENDERS users (each well under the per-user rate limit),
for SECONDS.

Delivery latency is from just before a message's POST to its receipt by a listener (every
listener, every message); it is compared with a bare Redis PUBLISH to one SUBSCRIBE-d client
at the same rate, measured in the same run (the floor any fan-out over Redis stands on).
Memory per listener: the resident memory of chat-events' processes and of nginx with every
listener open, less what they held with one.

Listeners run in LISTENER_PROCESSES processes of their own (asyncio, raw sockets), so the
bench's client side is not the bottleneck it measures.

    python bench/chat.py                       # 1,000 listeners, 50 messages/s, 20 s
    BENCH_LISTENERS=200 BENCH_SECONDS=10 python bench/chat.py
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from harness import BENCH_PROFILE, free_port, tree_rss

LISTENERS = int(os.environ.get("BENCH_LISTENERS", 1000))
RATE = float(os.environ.get("BENCH_RATE", 50))
SECONDS = float(os.environ.get("BENCH_SECONDS", 20))
SENDERS = int(os.environ.get("BENCH_SENDERS", 100))
LISTENER_PROCESSES = int(os.environ.get("BENCH_LISTENER_PROCESSES", 2))
SENT_AT = re.compile(rb'"text": ?"b (\d+)"')


# --- the listeners (a process of their own) --------------------------------------------


async def listen(port: int, path: str, latencies: list[tuple[int, float]],
                 opened: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    assert b" 200 " in status, status
    await reader.readuntil(b"\r\n\r\n")
    opened[0] += 1
    tail = b""
    while chunk := await reader.read(65536):
        now = time.time_ns()
        data = tail + chunk
        end = data.rfind(b"\n\n")
        if end < 0:
            tail = data
            continue
        tail = data[end + 2:]
        for sent in SENT_AT.findall(data, 0, end):
            latencies.append((int(sent), (now - int(sent)) / 1e6))


async def listeners(port: int, path: str, count: int, out: str) -> None:
    latencies: list[tuple[int, float]] = []
    opened = [0]
    tasks = []
    for _ in range(count):
        tasks.append(asyncio.create_task(listen(port, path, latencies, opened)))
        await asyncio.sleep(0.002)  # a crowd arriving, not one SYN flood
    while opened[0] < count:
        if any(t.done() and t.exception() for t in tasks):
            raise next(t.exception() for t in tasks if t.done() and t.exception())
        await asyncio.sleep(0.05)
    print("open", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    with open(out, "w") as file:
        json.dump(latencies, file)


# --- the senders and the baseline -------------------------------------------------------


def send_all(port: int, room: str, tokens: list[str], *, rate: float = RATE,
             seconds: float = SECONDS) -> tuple[int, int, list[float]]:
    """POST `rate` messages a second for `seconds`, round-robin over the senders: (sent,
    refused, each POST's time to its answer in ms)."""
    local = threading.local()
    refused = [0]
    answered: list[float] = []

    def post(token: str) -> None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        began = time.time_ns()
        body = json.dumps({"text": f"b {began}"})
        connection.request("POST", f"/api/chat/{room}/messages", body=body,
                           headers={"Content-Type": "application/json",
                                    "Authorization": f"Bearer {token}"})
        answer = connection.getresponse()
        answer.read()
        answered.append((time.time_ns() - began) / 1e6)
        if answer.status != 201:
            refused[0] += 1

    total = int(rate * seconds)
    began = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        for n in range(total):
            time.sleep(max(0.0, began + n / rate - time.monotonic()))
            pool.submit(post, tokens[n % len(tokens)])
    return total, refused[0], answered


def redis_baseline(redis_url: str) -> list[float]:
    """PUBLISH at RATE a second for SECONDS to one subscriber: publish-to-receipt, in ms."""
    import redis

    client = redis.Redis.from_url(redis_url)
    subscriber = client.pubsub()
    channel = f"bench:chat:{uuid.uuid4().hex}"
    subscriber.subscribe(channel)
    subscriber.get_message(timeout=5)  # the subscribe confirmation
    latencies: list[float] = []
    total = int(RATE * SECONDS)

    def receive() -> None:
        while len(latencies) < total:
            message = subscriber.get_message(timeout=5)
            if message and message["type"] == "message":
                latencies.append((time.time_ns() - int(message["data"])) / 1e6)

    reader = threading.Thread(target=receive)
    reader.start()
    began = time.monotonic()
    for n in range(total):
        time.sleep(max(0.0, began + n / RATE - time.monotonic()))
        client.publish(channel, str(time.time_ns()))
    reader.join(30)
    subscriber.close()
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- the run ----------------------------------------------------------------------------


def mint_senders(room: str) -> tuple[str, list[str]]:
    """The room's owner and SENDERS accounts with an access token each, made in this process
    (registration through the API is rate-limited per address, as it should be)."""
    from shared_lib.accounts.models import User
    from shared_lib.accounts.sessions import start_session
    from shared_lib.config import get_settings
    from shared_lib.db import UnitOfWork
    from shared_lib.security import get_signer, hash_password

    password_hash = hash_password("correct horse", rounds=4)
    tokens = []
    with UnitOfWork() as uow:
        for n in range(SENDERS + 1):
            name = room if n == 0 else f"{room}_{n}"
            user = User(id=uuid.uuid4(), username=name, email=f"{name}@example.com",
                        password_hash=password_hash, display_name=name)
            uow.users.add(user)
            tokens.append(start_session(uow, user, signer=get_signer(),
                                        settings=get_settings()).access_token)
        uow.commit()
    return room, tokens[1:]


def main() -> None:
    from local.platform import Platform, reset_caches
    from local.settings import Ports

    ports = Ports(api=free_port(), hls=free_port(), internal=free_port(), rtmp=free_port(),
                  rtmps=free_port(), stat=free_port(), sidecar=free_port(), functions=24000)
    # Every listener comes from 127.0.0.1 here: no per-address cap on open streams.
    platform = Platform(BENCH_PROFILE, ports, environment="development", schedule=False,
                        streams_per_address=0)
    platform.start()
    listeners_out: list[str] = []
    crowd: list[subprocess.Popen] = []  # every listener process, to stop whatever happens
    try:
        os.environ.update(platform.env)
        reset_caches()
        room, tokens = mint_senders(f"bc{uuid.uuid4().hex[:6]}")
        path = f"/api/chat/{room}/events"
        events = platform.runtime.instances["chat-events"]

        # One listener, to have the function warm and its memory with one open stream.
        one = subprocess.Popen([sys.executable, __file__, "--listen", str(ports.api), path, "1",
                                os.devnull], stdout=subprocess.PIPE, text=True)
        crowd.append(one)
        assert one.stdout.readline().strip() == "open"
        send_all(ports.api, room, tokens, rate=10, seconds=2)  # send-chat-message warm too
        time.sleep(1)
        before = {"chat-events": tree_rss(events.process.pid),
                  "nginx": tree_rss(platform.servers["front door (nginx)"].process.pid)}

        began = time.monotonic()
        share = [LISTENERS // LISTENER_PROCESSES + (i < LISTENERS % LISTENER_PROCESSES)
                 for i in range(LISTENER_PROCESSES)]
        for i, count in enumerate(share):
            out = f"/tmp/bench-chat-{os.getpid()}-{i}.json"
            listeners_out.append(out)
            crowd.append(subprocess.Popen([sys.executable, __file__, "--listen", str(ports.api),
                                           path, str(count), out], stdout=subprocess.PIPE, text=True))
        for process in crowd[1:]:
            assert process.stdout.readline().strip() == "open", "every listener connected"
        print(f"{LISTENERS:,} listeners open in {time.monotonic() - began:.1f} s "
              f"({events.workers} chat-events worker(s))", flush=True)
        time.sleep(2)
        after = {"chat-events": tree_rss(events.process.pid),
                 "nginx": tree_rss(platform.servers["front door (nginx)"].process.pid)}

        print(f"sending {RATE:g} messages/s for {SECONDS:g} s…", flush=True)
        sent, refused, answered = send_all(ports.api, room, tokens)
        time.sleep(3)  # the last deliveries
        for process in crowd:
            process.send_signal(signal.SIGTERM)
        for process in crowd:
            process.wait(30)
        received: list[tuple[int, float]] = []
        for out in listeners_out:
            with open(out) as file:
                received += [tuple(pair) for pair in json.load(file)]
        delivered = [latency for _, latency in received]
        per_message = Counter(sent for sent, _ in received)
        workers = events.workers

        print("the baseline: bare Redis PUBLISH to one subscriber, at the same rate…", flush=True)
        baseline = redis_baseline(platform.env["STREAMFN_REDIS_URL"])
    finally:
        for process in crowd:
            process.kill()
        platform.stop()
        for out in listeners_out:
            if os.path.exists(out):
                os.unlink(out)

    expected = (sent - refused) * LISTENERS
    print(f"\none room, {LISTENERS:,} listeners, {RATE:g} messages/s for {SECONDS:g} s: "
          f"{sent:,} sent ({refused} refused), {len(delivered):,} of {expected:,} deliveries "
          f"({workers} chat-events worker(s) at the end); {len(per_message):,} messages seen, "
          f"each by {min(per_message.values()):,} to {max(per_message.values()):,} listeners")
    p50, p99 = percentile(delivered, 0.5), percentile(delivered, 0.99)
    b50, b99 = percentile(baseline, 0.5), percentile(baseline, 0.99)
    print(f"POST -> SSE listener   p50 {p50:8.2f} ms   p99 {p99:8.2f} ms   "
          f"max {max(delivered):8.2f} ms   mean {statistics.fmean(delivered):.2f} ms")
    a50, a99 = percentile(answered, 0.5), percentile(answered, 0.99)
    print(f"  of which the POST    p50 {a50:8.2f} ms   p99 {a99:8.2f} ms   (until its 201)")
    print(f"Redis PUBLISH -> SUB   p50 {b50:8.2f} ms   p99 {b99:8.2f} ms")
    print(f"ratio                  p50 {p50 / b50:8.1f}x     p99 {p99 / b99:8.1f}x")
    for name in ("chat-events", "nginx"):
        per = (after[name] - before[name]) / max(1, LISTENERS - 1)
        print(f"memory per listener, {name:11s} {per / 1024:6.1f} KiB "
              f"({before[name] / 2**20:.0f} MiB with one, {after[name] / 2**20:.0f} MiB with all)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--listen":
        port, path, count, out = sys.argv[2:6]
        asyncio.run(listeners(int(port), path, int(count), out))
    else:
        main()
