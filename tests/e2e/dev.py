"""`make dev` from outside: one `python -m local dev` in a profile of its own (its own
PostgreSQL and Redis, free ports, short idle periods), started, killed or stopped as its
users do, and what it printed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from local.services import ROOT, port_open
from tests.e2e.conftest import free_port
from tests.e2e.media import wait_until

PROFILE = "e2e-runtime"
TEST_ONLY = ("STREAMFN_BCRYPT_ROUNDS", "STREAMFN_ENVIRONMENT")


class Dev:
    """One `python -m local dev` and what it printed."""

    def __init__(self, profile: str = PROFILE, **env: str) -> None:
        self.home = ROOT / ".local" / profile
        self.ports = {name: free_port() for name in ("API", "HLS", "INTERNAL", "RTMP", "RTMPS",
                                                      "STAT", "SIDECAR", "PG", "REDIS")}
        inherited = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
        self.env = {**inherited, "STREAMFN_PROFILE": profile, "PYTHONPATH": str(ROOT),
                    "STREAMFN_SCALE_TO_ZERO_SECONDS": "3", "STREAMFN_SCALE_DOWN_SECONDS": "2",
                    "STREAMFN_FUNCTIONS_BASE_PORT": str(26000 + os.getpid() % 3000),
                    **{f"STREAMFN_{name}_PORT": str(port) for name, port in self.ports.items()},
                    **env}
        self.output = self.home / "dev-output.log"
        self.output.unlink(missing_ok=True)
        self.process: subprocess.Popen | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['API']}"

    @property
    def internal(self) -> str:
        return f"http://127.0.0.1:{self.ports['INTERNAL']}"

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        starts = self.printed().count("streamfn is running")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "dev"], cwd=ROOT, env=self.env,
            stdout=open(self.output, "ab"), stderr=subprocess.STDOUT)
        ready = wait_until(lambda: self.printed().count("streamfn is running") > starts
                           or self.process.poll() is not None, timeout=120)
        assert ready and self.process.poll() is None, self.printed()[-3000:]

    def refused(self) -> str:
        """What `make dev` printed when it would not start."""
        self.home.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([sys.executable, "-m", "local", "dev"], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode != 0
        return done.stdout + done.stderr

    def printed(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        # Its children get SIGTERM from the kernel when it dies: wait until they are gone.
        assert wait_until(lambda: not any(port_open(p) for p in self.ports.values()), timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
