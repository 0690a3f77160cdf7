"""What the benchmarks share: starting a function as its own process, timing, medians."""

from __future__ import annotations

import http.client
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local.services import Profile  # noqa: E402 - after the path

# The benchmarks' own PostgreSQL and Redis (below the ephemeral port range).
BENCH_PROFILE = Profile("bench", pg_port=15434, redis_port=16381)
SINK_QUEUE = "bench-sink"  # start_broker's
logging.getLogger("alembic").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_function(source: str, target: str, port: int, env: dict[str, str], *,
                   asgi: bool = False) -> subprocess.Popen:
    """`asgi`: an async function, served by functions-framework's ASGI mode."""
    return subprocess.Popen(
        [sys.executable, "-m", "functions_framework", *(["--asgi"] if asgi else []),
         "--source", source, "--target", target, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def first_answer(port: int, method: str, path: str, body: bytes | None, deadline: float) -> None:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    while time.monotonic() < deadline:
        try:
            request(port, method, path, body, headers, timeout=5)
            return
        except OSError:
            time.sleep(0.005)
    raise TimeoutError(f"no answer on port {port}")


def median(values: list[float]) -> float:
    return statistics.median(values)


def start_broker() -> tuple[str, object]:
    """The broker's ingress, as the runtime serves it (uvicorn on a held socket), storing
    into a queue of its own that nothing drains (emptied first): the functions' K_SINK. Not
    the platform's queue ("bench"), whose dispatcher would deliver every event a load sent
    before it reached the next bench's own. Call after the settings are in os.environ."""
    import tempfile

    from local.event_store import EventStore
    from local.instances import Instance, Policy, bind

    EventStore(SINK_QUEUE).purge()

    listener = bind(free_port())
    run = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    argv = [sys.executable, "-m", "local.serve", "--asgi", "--app", "local.ingress:ingress"]
    ingress = Instance("broker-ingress", argv,
                       {**os.environ, "PYTHONPATH": str(ROOT), "STREAMFN_BROKER_QUEUE": SINK_QUEUE},
                       Policy(min_scale=1, concurrency=16), listener, run, run / "ingress.log")
    ingress.start("bench")
    return f"http://127.0.0.1:{ingress.port}/", ingress


def tree(root: int) -> list[int]:
    """`root` and all its descendants, as /proc shows them now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def tree_rss(root: int) -> int:
    """Bytes of resident memory of `root` and all its descendants."""
    total = 0
    for pid in tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def machine_seconds() -> float:
    """CPU seconds the whole machine has used (every core, user and system)."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def wait_quiet(busy: float = 0.15, window: float = 0.25, limit: float = 20.0) -> float:
    """Wait until the whole machine uses under `busy` of its cores over `window` seconds (at
    most `limit` seconds); the fraction it last used."""
    cores, deadline = os.cpu_count() or 1, time.monotonic() + limit
    while True:
        before = machine_seconds()
        time.sleep(window)
        used = (machine_seconds() - before) / window / cores
        if used < busy or time.monotonic() > deadline:
            return used


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system) each of these processes has used so far."""
    tick, used = os.sysconf("SC_CLK_TCK"), {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            continue
    return used
