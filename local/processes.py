"""Child processes of the runtime: how they are started, stopped and watched.

Every child leads a process group of its own, so stopping it stops what it forked too
(gunicorn's workers, nginx's workers, even after their parent was killed), and gets
SIGTERM when the runtime dies (PR_SET_PDEATHSIG), so a killed `make dev` leaves nothing
holding its ports. `Supervised` restarts a server that ended without being asked to.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("streamfn.runtime")

QUICK_EXIT_SECONDS = 10.0


def retry_delay(failures: int) -> float:
    """How long to wait before starting again something that failed `failures` times in a
    row: at once the first time, then 4, 8, 16, 30 seconds at the most."""
    return min(30.0, 2.0 ** failures) if failures > 1 else 0.0


def spawn(argv: list[str], *, log_file: Path, env: dict[str, str] | None = None,
          pass_fds: tuple[int, ...] = (), cwd: Path | None = None,
          user: str | None = None, death_signal: str = "TERM") -> subprocess.Popen:
    """Start `argv` in a session of its own that ends when the runtime does. util-linux's
    setpriv sets the parent-death signal (a preexec_fn would not be safe in a threaded
    runtime), after the switch to `user`, which would clear it."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as out:
        return subprocess.Popen(
            ["setpriv", "--pdeathsig", death_signal, "--", *argv], env=env, cwd=cwd, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, pass_fds=pass_fds,
            start_new_session=True, user=user, group=user,
        )


def _signal_group(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (zombies left to an init that does not
    reap them do not count: they hold no ports and no files)."""
    if not _signal_group(pgid, 0):
        return False
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def group_stop(process: subprocess.Popen, *, grace: float = 10.0,
               signum: int = signal.SIGTERM) -> None:
    """Stop a child and everything in its process group: `signum`, then SIGKILL."""
    pgid = process.pid
    _signal_group(pgid, signum)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if process.poll() is not None and not _group_alive(pgid):
            return
        time.sleep(0.05)
    _signal_group(pgid, signal.SIGKILL)
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        pass


@dataclass
class Supervised:
    """A server the runtime keeps running: `start` starts it, `ready` waits until it
    serves; it is started again (after a short backoff when it keeps failing) whenever it
    ends on its own."""

    name: str
    start: Callable[[], subprocess.Popen]
    ready: Callable[[], None] = lambda: None
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen | None = None
    restarts: int = 0
    failures: int = 0
    started_at: float = 0.0
    retry_at: float = 0.0
    _stopped: bool = field(default=False)

    def run(self) -> None:
        self.process = self.start()
        self.started_at = time.monotonic()
        self.ready()

    def check(self) -> None:
        """Restart the server if it ended; called by the runtime's loop."""
        if self._stopped or self.process is None or self.process.poll() is None:
            if self.process is None and not self._stopped and time.monotonic() >= self.retry_at:
                self._restart("its last start failed")
            return
        code = self.process.returncode
        why = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
        group_stop(self.process, grace=2.0)  # what it left behind (orphaned workers)
        self.process = None
        self.failures = self.failures + 1 if time.monotonic() - self.started_at < QUICK_EXIT_SECONDS else 0
        self.retry_at = time.monotonic() + retry_delay(self.failures)
        if time.monotonic() >= self.retry_at:
            self._restart(why)
        else:
            log.warning("%s %s; starting it again in %.0f s", self.name, why,
                        self.retry_at - time.monotonic())

    def _restart(self, why: str) -> None:
        log.warning("restarting %s: %s", self.name, why)
        self.restarts += 1
        try:
            self.run()
        except Exception as exc:  # noqa: BLE001 - keep supervising; try again later
            log.error("%s did not start again: %s", self.name, exc)
            if self.process is not None:
                group_stop(self.process, grace=2.0)
            self.process = None
            self.failures += 1
            self.retry_at = time.monotonic() + max(1.0, retry_delay(self.failures))

    def stop(self, grace: float = 10.0) -> None:
        self._stopped = True
        if self.process is not None:
            group_stop(self.process, grace=grace, signum=self.stop_signal)
            self.process = None
