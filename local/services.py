"""Private PostgreSQL and Redis instances under .local/, for `make dev` and `make test`.

PostgreSQL refuses to run as root, so when we are root its data directory belongs to the
`postgres` system user and it runs as that user. Both servers run in the foreground as
children of the runtime (which restarts them when they die) and listen on 127.0.0.1 only;
PostgreSQL asks for a password generated on first start and kept in
.local/<profile>/secrets (mode 0600). Redis runs with append-only persistence (fsync every
second), so a restart loses at most a second of what it holds.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from local.processes import group_stop, spawn

ROOT = Path(__file__).resolve().parent.parent
PG_SUPERUSER = "streamfn"
_children: dict[str, subprocess.Popen] = {}


def _pg_bin(tool: str) -> str:
    found = shutil.which(tool)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not candidates:
        raise RuntimeError(f"{tool} not found: install postgresql (make dev does)")
    return candidates[-1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def socket_open(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(str(path)) == 0


def wait_for_port(port: int, timeout: float = 20.0, *, what: str,
                  process: subprocess.Popen | None = None) -> None:
    _wait_to_listen(lambda: port_open(port), f"127.0.0.1:{port}", timeout, what, process)


def wait_for_socket(path: Path, timeout: float = 20.0, *, what: str,
                    process: subprocess.Popen | None = None) -> None:
    _wait_to_listen(lambda: path.exists() and socket_open(path), str(path), timeout, what, process)


def _wait_to_listen(listening: Callable[[], bool], where: str, timeout: float, what: str,
                    process: subprocess.Popen | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening():
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} before it listened")
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening on {where}")


@dataclass
class Profile:
    """One set of private servers: `dev` for make dev, `test` for the suite."""

    name: str
    pg_port: int
    redis_port: int

    @property
    def home(self) -> Path:
        return ROOT / ".local" / self.name

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def password(self) -> str:
        path = self.home / "secrets" / "pg-password"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(24))
        return path.read_text().strip()

    @property
    def database_url(self) -> str:
        return f"postgresql+pg8000://{PG_SUPERUSER}:{self.password}@127.0.0.1:{self.pg_port}/streamfn"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"


def terminate(children: list[subprocess.Popen], *, grace: float = 10.0) -> None:
    """Ask every child to stop, then wait for each; kill those that do not in time."""
    for child in children:
        child.terminate()
    for child in children:
        try:
            child.wait(grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _as_postgres(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=check, capture_output=True, text=True)


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def start_postgres(profile: Profile) -> subprocess.Popen | None:
    """Start the profile's PostgreSQL (initialising it on first start); None when one
    already listens on its port."""
    if port_open(profile.pg_port):
        return None
    profile.home.mkdir(parents=True, exist_ok=True)
    profile.run_dir.mkdir(parents=True, exist_ok=True)
    _give_to_postgres(profile.run_dir)
    if not (profile.pgdata / "PG_VERSION").exists():
        profile.pgdata.mkdir(parents=True, exist_ok=True, mode=0o700)
        _give_to_postgres(profile.pgdata)
        pwfile = profile.run_dir / "pwfile"
        pwfile.write_text(profile.password)
        _give_to_postgres(pwfile)
        try:
            _as_postgres([
                _pg_bin("initdb"), "-D", str(profile.pgdata), "-U", PG_SUPERUSER,
                "--pwfile", str(pwfile), "--auth=scram-sha-256", "-E", "UTF8",
                "--locale=C.UTF-8",
            ])
        finally:
            pwfile.unlink()
    process = run_postgres(profile)
    _ensure_database(profile)
    return process


MAX_CONNECTIONS = 400


def run_postgres(profile: Profile) -> subprocess.Popen:
    """PostgreSQL in the foreground, as a child; returns once it accepts connections."""
    # Every function is its own process with its own small pool (2 kept, 3 more under load):
    # with the catalog's ~70 functions warm, PostgreSQL's default of 100 connections is
    # refused ("too many clients already"); 400 leaves room for two workers each.
    options = ["-c", "listen_addresses=127.0.0.1", "-p", str(profile.pg_port),
               "-k", str(profile.run_dir), "-c", f"max_connections={MAX_CONNECTIONS}"]
    if profile.name == "test":
        options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    user = "postgres" if os.geteuid() == 0 else None
    # SIGINT is PostgreSQL's fast shutdown: a dying runtime must not leave it waiting on
    # clients (SIGTERM's smart shutdown would).
    process = spawn([_pg_bin("postgres"), "-D", str(profile.pgdata), *options],
                    log_file=profile.run_dir / "postgres.log", user=user, death_signal="INT")
    _children[f"postgres-{profile.name}"] = process
    try:
        wait_for_port(profile.pg_port, timeout=60, what="PostgreSQL", process=process)
        _wait_until_accepting(profile, process)
    except RuntimeError:
        group_stop(process, grace=5, signum=signal.SIGINT)
        raise
    return process


def _wait_until_accepting(profile: Profile, process: subprocess.Popen, timeout: float = 60) -> None:
    """Past the port: PostgreSQL may still be recovering (after a crash) or starting up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = subprocess.run([_pg_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(profile.pg_port)])
        if ready.returncode == 0:
            return
        if process.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited with status {process.returncode} while starting")
        time.sleep(0.1)
    raise RuntimeError("PostgreSQL did not accept connections in time")


def _ensure_database(profile: Profile) -> None:
    env = {**os.environ, "PGPASSWORD": profile.password}
    base = [_pg_bin("psql"), "-h", "127.0.0.1", "-p", str(profile.pg_port), "-U", PG_SUPERUSER,
            "-d", "postgres", "-tAc"]
    exists = subprocess.run(
        [*base, "SELECT 1 FROM pg_database WHERE datname = 'streamfn'"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout.strip()
    if not exists:
        subprocess.run([*base, "CREATE DATABASE streamfn"], check=True, capture_output=True, env=env)


def stop_postgres(profile: Profile) -> None:
    process = _children.pop(f"postgres-{profile.name}", None)
    if process is not None:
        group_stop(process, grace=30, signum=signal.SIGINT)  # SIGINT: fast shutdown
    elif (profile.pgdata / "postmaster.pid").exists():
        _as_postgres([_pg_bin("pg_ctl"), "-D", str(profile.pgdata), "-m", "fast", "-w", "stop"],
                     check=False)


def start_redis(profile: Profile) -> subprocess.Popen | None:
    """Start the profile's Redis; None when one already listens on its port."""
    if port_open(profile.redis_port):
        return None
    return run_redis(profile)


def run_redis(profile: Profile) -> subprocess.Popen:
    profile.run_dir.mkdir(parents=True, exist_ok=True)
    process = spawn(
        [
            "redis-server", "--port", str(profile.redis_port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
            "--dir", str(profile.run_dir), "--loglevel", "warning",
        ],
        log_file=profile.run_dir / "redis.log",
    )
    _children[f"redis-{profile.name}"] = process
    wait_for_port(profile.redis_port, what="Redis", process=process)
    _wait_until_loaded(profile.redis_port)
    return process


def _wait_until_loaded(port: int, timeout: float = 30.0) -> None:
    """Redis listens while it replays its append-only file, answering -LOADING until done:
    ready is when PING is answered +PONG."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                if connection.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"Redis on {port} did not finish loading within {timeout:.0f} s")


def stop_redis(profile: Profile) -> None:
    process = _children.pop(f"redis-{profile.name}", None)
    if process is not None:
        group_stop(process, grace=10)
