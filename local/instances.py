"""A function's instances on one machine: socket activation, scale to zero, scale out.

The runtime binds each function's port itself and keeps the listening socket for the
platform's whole life. While no process serves the function, a connection waits in the
kernel's accept queue (the request is held, as Knative's activator holds it) and the
runtime starts gunicorn on that very socket (local/serve.py); gunicorn accepts the waiting
connection and every later one, with no proxy in between. Concurrent first requests all
wait in the same queue and are served by that one start.

After `idle_seconds` with nothing in flight the process is stopped (scale to zero) unless
the function's min-scale keeps it. Under load, workers are added with SIGTTIN the way
Knative's autoscaler adds pods: when the requests in flight exceed 70% of the workers'
concurrency, or when every worker is saturating a core (one CPython process cannot use
more than one) with more requests than workers in flight; up to max-scale and the cores.
They go again with SIGTTOU after `scale_down_seconds` of lower load.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from local.processes import QUICK_EXIT_SECONDS, group_stop, retry_delay, spawn
from local.serve import read_activity

log = logging.getLogger("streamfn.runtime")

TARGET_UTILIZATION = 0.7  # Knative's default container-concurrency-target-percentage
SATURATED_CPU = 0.85      # of one core, per worker


@dataclass
class Policy:
    """How an instance scales: the catalog's scaling, and the runtime's settings."""

    min_scale: int = 0
    max_scale: int = 1
    concurrency: int = 10
    idle_seconds: float = 60.0
    scale_down_seconds: float = 30.0


@dataclass
class Load:
    """What the workers reported in one tick."""

    in_flight: int = 0
    peak: int = 0
    last_request: float = 0.0
    cpu_per_worker: float = 0.0


def bind(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A connection takes its options from the listener when the kernel accepts it: one that
    # waits in the queue while the function starts must already have Nagle off (gunicorn
    # turns it off only once it runs). Else the server's answer, written in two parts, waits
    # for the front door's delayed ACK: 40 ms on every request over that upstream connection.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1024)
    listener.setblocking(False)
    listener.set_inheritable(False)
    return listener


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class Instance:
    name: str
    argv: list[str]
    env: dict[str, str]
    policy: Policy
    listener: socket.socket
    run_dir: Path
    log_file: Path
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    process: subprocess.Popen | None = None
    workers: int = 0
    started_at: float = 0.0
    cold_starts: int = 0
    restarts: int = 0
    failures: int = 0
    retry_at: float = 0.0
    _stopping: bool = False
    _deadline: float = 0.0
    _busy_since: float | None = None
    _calm_since: float | None = None
    _cpu: dict[int, float] = field(default_factory=dict)
    _last_request: float = 0.0

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    @property
    def running(self) -> bool:
        return self.process is not None

    @property
    def stats_dir(self) -> Path:
        return self.run_dir / "activity" / self.name

    @property
    def metrics_dir(self) -> Path:
        """Its workers' request metrics: kept across its stops, summed by local/metrics.py."""
        return self.run_dir / "metrics" / self.name

    @property
    def limit(self) -> int:
        return max(1, min(self.policy.max_scale, self.cores))

    # --- starting and stopping ----------------------------------------------------------

    def start(self, why: str) -> None:
        shutil.rmtree(self.stats_dir, ignore_errors=True)
        self.stats_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_dir.mkdir(parents=True, exist_ok=True)
        fd = self.listener.fileno()
        self.process = spawn(
            self.argv, log_file=self.log_file, pass_fds=(fd,),
            env={**self.env, "STREAMFN_LISTEN_FD": str(fd), "STREAMFN_STATS_DIR": str(self.stats_dir),
                 "STREAMFN_METRICS_DIR": str(self.metrics_dir),
                 "K_SERVICE": self.name, "WORKERS": "1", "THREADS": str(self.policy.concurrency)},
        )
        self.workers, self.started_at, self._stopping = 1, time.time(), False
        self._last_request, self._busy_since, self._calm_since = self.started_at, None, None
        self._cpu = {}
        if why == "cold":
            self.cold_starts += 1
        log.info("started %s (%s, pid %s)", self.name, why, self.process.pid)

    def stop(self, why: str, *, grace: float = 30.0) -> None:
        """Stop now, waiting for in-flight requests for up to `grace` seconds."""
        if self.process is None:
            return
        self._stopping = True
        log.info("stopping %s (%s)", self.name, why)
        group_stop(self.process, grace=grace)
        self._ended()

    def retire(self, why: str) -> None:
        """Ask the process to finish what it serves and exit; `reap` sees it go. The
        runtime's loop does not wait, so other functions start meanwhile."""
        if self.process is None or self._stopping:
            return
        self._stopping, self._deadline = True, time.monotonic() + 30.0
        log.info("stopping %s (%s)", self.name, why)
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def _ended(self) -> None:
        self.process, self.workers, self._stopping = None, 0, False
        shutil.rmtree(self.stats_dir, ignore_errors=True)

    def reap(self) -> str | None:
        """Why the process ended, if it did without being asked to; None otherwise."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            if self._stopping and time.monotonic() > self._deadline:
                group_stop(self.process, grace=0)
            return None
        code, lived, asked = self.process.returncode, time.time() - self.started_at, self._stopping
        group_stop(self.process, grace=1.0)  # workers of a killed arbiter
        self._ended()
        if asked:
            return None
        self.failures = self.failures + 1 if lived < QUICK_EXIT_SECONDS else 0
        self.retry_at = time.monotonic() + retry_delay(self.failures)
        self.restarts += 1
        return f"killed by signal {-code}" if code < 0 else f"exited with status {code}"

    # --- load ---------------------------------------------------------------------------

    def load(self, tick: float) -> Load:
        reports = []
        for path in self.stats_dir.glob("[0-9]*"):
            pid = int(path.name) if path.name.isdigit() else 0
            if not pid or not os.path.exists(f"/proc/{pid}"):
                path.unlink(missing_ok=True)
                continue
            report = read_activity(str(path))
            if report:
                reports.append((pid, report))
        cpu = 0.0
        for pid, _ in reports:
            seconds = _cpu_seconds(pid)
            cpu += max(0.0, seconds - self._cpu.get(pid, seconds))
            self._cpu[pid] = seconds
        if reports:
            self._last_request = max(self._last_request, *(r[3] for _, r in reports))
        busy = sum(r[0] for _, r in reports)
        return Load(in_flight=busy, peak=sum(r[1] for _, r in reports),
                    last_request=self._last_request,
                    cpu_per_worker=cpu / tick / max(1, len(reports)) if tick else 0.0)

    def _wants(self, workers: int, load: Load) -> bool:
        """Whether `workers` workers are too few for this load."""
        target = max(1.0, self.policy.concurrency * TARGET_UTILIZATION)
        saturated = load.cpu_per_worker * self.workers / workers >= SATURATED_CPU
        return load.peak > target * workers or (saturated and load.peak > workers)

    def autoscale(self, load: Load) -> None:
        """One autoscaler tick: add or remove a worker, or scale to zero."""
        if self.process is None or self._stopping:
            return
        now = time.monotonic()
        idle = time.time() - max(load.last_request, self.started_at)
        if (self.policy.min_scale == 0 and load.in_flight == 0
                and idle >= self.policy.idle_seconds):
            self.retire(f"scale to zero after {idle:.0f} s idle")
            return
        if self._wants(self.workers, load) and self.workers < self.limit:
            self._busy_since = self._busy_since or now
            if now - self._busy_since >= 1.0:
                self._signal(signal.SIGTTIN, +1, load)
                self._busy_since = None
            return
        self._busy_since = None
        if self.workers > 1 and not self._wants(self.workers - 1, load):
            self._calm_since = self._calm_since or now
            if now - self._calm_since >= self.policy.scale_down_seconds:
                self._signal(signal.SIGTTOU, -1, load)
                self._calm_since = None
        else:
            self._calm_since = None

    def _signal(self, signum: int, change: int, load: Load) -> None:
        try:
            self.process.send_signal(signum)
        except ProcessLookupError:
            return
        self.workers += change
        log.info("scaled %s to %d workers (%d in flight, %.0f%% CPU a worker)", self.name,
                 self.workers, load.peak, load.cpu_per_worker * 100)
