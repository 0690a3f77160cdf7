"""The whole platform on one machine: servers, keys, migrations, the functions' runtime,
the front door, broker and scheduler, started in order and stopped in reverse.

`make dev` runs it with the `dev` profile; the e2e tests run it with the `test` profile.
Every listener binds 127.0.0.1. Ports and the runtime's settings come from the environment
(README, "Configuration").
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

from local import issuer, services
from local.broker import QUEUE_ENV, WAKEUP_ENV, Broker
from local.event_store import EventStore
from local.frontdoor import FrontDoorConfig, render
from local.ingest import Ingest, IngestPorts
from local.instances import Instance, Policy, bind
from local.metrics import Exporter
from local.processes import Supervised, spawn
from local.routes import RouteTable
from local.runtime import Runtime
from local.scheduler import Scheduler
from local.services import ROOT
from local.settings import (
    Ports,
    RuntimeSettings,
    function_env,
    media_dir,
    sender_tokens,
)
from local.triggers import Delivery, Trigger, http_send

log = logging.getLogger(__name__)
INGRESS = "broker-ingress"
DRAIN_SECONDS = 10.0  # on stop: how long events already accepted may take to reach their functions


def reset_caches() -> None:
    """Forget settings, engines and clients built from an earlier environment."""
    from shared_lib import cache, config, db, security

    if db.get_engine.cache_info().currsize:  # close its idle connections now, not at a GC
        db.get_engine().dispose()
    for cached in (config.get_settings, db.get_engine, db.get_session_factory, cache.get_redis,
                   cache.get_redis_bytes,
                   security.get_signer, security.get_jwks, security.get_verifier):
        cached.cache_clear()


def _listeners(names: list[str], base: int) -> dict[str, socket.socket]:
    """A listening socket for each name, on the first free ports from `base` upward."""
    held, port = {}, base
    for name in names:
        while True:
            try:
                held[name] = bind(port)
                break
            except OSError:
                port += 1
        port += 1
    return held


class Platform:
    """Everything `make dev` runs, in order: PostgreSQL and Redis, migrations, the
    functions' sockets and their runtime, the broker and its ingress, the front door,
    the ingest pod's nginx-rtmp and sidecar, the scheduler."""

    def __init__(self, profile: services.Profile, ports: Ports, *,
                 environment: str = "development", delivery: Delivery = Delivery(),
                 schedule: bool = True, overrides: dict[str, str] | None = None,
                 ingest: bool = True, site: Path | None = None,
                 idle_seconds: float | None = None, scale_down_seconds: float | None = None,
                 extra_specs: tuple = (), tls: tuple[Path, Path] | None = None,
                 streams_per_address: int | None = None) -> None:
        self.profile, self.ports = profile, ports
        self.environment, self.delivery, self.schedule = environment, delivery, schedule
        self.overrides = overrides or {}
        self.with_ingest = ingest
        self.site = site
        self.extra_specs = list(extra_specs)  # benchmarks add their baseline beside the catalog
        self.tls = tls
        settings = RuntimeSettings()
        self.idle_seconds = (settings.scale_to_zero_seconds if idle_seconds is None
                             else idle_seconds)
        self.scale_down_seconds = (settings.scale_down_seconds if scale_down_seconds is None
                                   else scale_down_seconds)
        self.streams_per_address = (settings.streams_per_address if streams_per_address is None
                                    else streams_per_address)
        self.env: dict[str, str] = {}
        self.servers: dict[str, Supervised] = {}
        self.runtime: Runtime | None = None
        self.broker: Broker | None = None
        self.scheduler: Scheduler | None = None
        self.metrics: Exporter | None = None
        self.ingest: Ingest | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def internal_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.internal}"

    @property
    def logs(self) -> Path:
        return self.profile.home / "logs"

    def start_servers(self) -> dict[str, str]:
        """PostgreSQL and Redis (supervised when this platform started them), settings in
        this process's environment, and the schema migrated."""
        for name, start, run in (
            ("PostgreSQL", services.start_postgres, services.run_postgres),
            ("Redis", services.start_redis, services.run_redis),
        ):
            process = start(self.profile)
            if process is not None:
                self.servers[name] = Supervised(name, lambda run=run: run(self.profile),
                                                process=process, started_at=time.monotonic())
        env = {**function_env(self.profile, self.ports, environment=self.environment,
                              tls=self.tls is not None), **self.overrides}
        from shared_lib.config import SettingsError, from_environment

        try:  # what every function would refuse at its first request, refused at start
            from_environment({**os.environ, **env})
        except SettingsError as exc:
            raise RuntimeError(str(exc)) from None
        os.environ.update(env)
        reset_caches()
        from shared_lib.migrations import upgrade

        upgrade()
        return env

    def start(self) -> None:
        if self.environment == "production" and self.tls is None:
            raise RuntimeError("production serves the API over HTTPS: set STREAMFN_TLS_CERTIFICATE_FILE "
                               "and STREAMFN_TLS_KEY_FILE")
        for port in (self.ports.api, self.ports.internal, self.ports.hls, self.ports.rtmp):
            if services.port_open(port):
                raise RuntimeError(f"127.0.0.1:{port} is in use: is the platform already running?")
        try:
            self._start()
        except BaseException:
            self.stop()  # whatever did start must not outlive a failed start
            raise

    def _start(self) -> None:
        env = self.env = self.start_servers()
        from functions import load_catalog
        from shared_lib.catalog import EVENT, HTTP, SCHEDULE

        specs = load_catalog() + self.extra_specs
        wakeup = f"streamfn-broker-{self.profile.name}-{self.ports.internal}"
        listeners = _listeners([s.name for s in specs] + [INGRESS], self.ports.functions)
        process_env = {**os.environ, **env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
                       "STREAMFN_UPSTREAM_KEEPALIVE_SECONDS": str(int(self.idle_seconds + 15))}
        run = self.profile.home / "run"
        instances = [
            Instance(spec.name, [sys.executable, "-m", "local.serve", *(["--asgi"] if spec.asgi else []),
                                 str(ROOT / spec.source), spec.target],
                     process_env, self._policy(spec.scaling), listeners[spec.name], run,
                     self.logs / f"{spec.name}.log")
            for spec in specs
        ]
        instances.append(Instance(
            INGRESS, [sys.executable, "-m", "local.serve", "--asgi", "--app", "local.ingress:ingress"],
            {**process_env, WAKEUP_ENV: wakeup, QUEUE_ENV: self.profile.name},
            Policy(min_scale=1, max_scale=2, concurrency=16),
            listeners[INGRESS], run, self.logs / "broker-ingress.log"))
        self.runtime = Runtime(instances, list(self.servers.values()),
                               tasks=[sender_tokens(self.profile).refresh])
        ports = {instance.name: instance.port for instance in instances}
        # A stream's timeout is its length: nginx times out silence, which heartbeats break.
        timeouts = [s.scaling.timeout_seconds for s in specs if s.kind == HTTP and not s.stream] or [30]
        self._serve_front_door(specs, ports, read_timeout=max(timeouts) + 60)
        subscriber_tokens = issuer.SubscriberTokens(issuer.Issuer(self.profile.home / "keys"))
        triggers = [Trigger(s.name, s.event_type,
                            http_send(ports[s.name], timeout=s.scaling.timeout_seconds + 60,
                                      token=functools.partial(subscriber_tokens, s.name)),
                            direct=s.kind == SCHEDULE)
                    for s in specs if s.kind in (EVENT, SCHEDULE) and s.event_type]
        self.broker = Broker(triggers, delivery=self.delivery, wakeup=wakeup,
                             store=EventStore(self.profile.name))
        self.scheduler = Scheduler(specs, self.broker)
        self.runtime.start()
        self.broker.start()
        self.metrics = Exporter(self.runtime, self.broker, self.metrics_page)
        self.metrics.start()
        if self.with_ingest:
            self.ingest = Ingest(
                self.profile.home / "nginx", media_dir(self.profile),
                IngestPorts(rtmp=self.ports.rtmp, rtmps=self.ports.rtmps, media=self.ports.hls,
                            stat=self.ports.stat, sidecar=self.ports.sidecar, bind=self.ports.bind),
                functions_url=self.internal_url, env=env, tls=self.tls)
            for server in self.ingest.servers():
                self._supervise(server)
        if self.schedule:
            self.scheduler.start()

    def _policy(self, scaling) -> Policy:
        return Policy(min_scale=scaling.min_scale, max_scale=scaling.max_scale,
                      concurrency=scaling.concurrency, idle_seconds=self.idle_seconds,
                      scale_down_seconds=self.scale_down_seconds)

    def _supervise(self, server: Supervised) -> None:
        server.run()
        self.servers[server.name] = server
        self.runtime.servers.append(server)

    def _serve_front_door(self, specs, ports: dict[str, int], *, read_timeout: int) -> None:
        from shared_lib.config import get_settings

        home = self.profile.home / "frontdoor"
        for path in (home / "run", home / "logs"):
            path.mkdir(parents=True, exist_ok=True)
        user = ""
        if os.geteuid() == 0:
            user = "user nobody nogroup;"  # workers buffer bodies into run/ as nobody
            shutil.chown(home / "run", "nobody", "nogroup")
        settings = get_settings()
        config = FrontDoorConfig(
            api_listen=f"{self.ports.bind}:{self.ports.api}",
            internal_listen=f"127.0.0.1:{self.ports.internal}",
            upstreams={name: port for name, port in ports.items() if name != INGRESS},
            public=RouteTable.from_catalog(specs), internal=RouteTable.from_catalog(specs, internal=True),
            ingress=f"127.0.0.1:{ports[INGRESS]}", home=home, site=self.site,
            max_body_bytes=settings.max_body_bytes, read_timeout_seconds=read_timeout,
            upstream_keepalive_seconds=max(1, int(min(30, self.idle_seconds / 2))), user=user,
            tls=self.tls, media=media_dir(self.profile) if self.tls else None,
            playlists=Ingest.socket(self.profile.home / "nginx") if self.with_ingest else None,
            streams=[s.path_pattern.pattern for s in specs if s.stream and not s.internal],
            streams_per_address=self.streams_per_address, metrics=self.metrics_page)
        conf = home / "nginx.conf"
        conf.write_text(render(config))

        def start():
            return spawn(["nginx", "-p", str(home), "-c", str(conf), "-e", str(home / "logs" / "error.log")],
                         log_file=home / "logs" / "nginx.out")

        server = Supervised("front door (nginx)", start, stop_signal=signal.SIGQUIT)
        server.ready = lambda: [services.wait_for_port(port, what="the front door (nginx)",
                                                       process=server.process)
                                for port in (self.ports.api, self.ports.internal)]
        self._supervise(server)

    @property
    def metrics_page(self) -> Path:
        return self.profile.home / "frontdoor" / "run" / "metrics.prom"

    def stop(self) -> None:
        """Stop everything but PostgreSQL and Redis, in reverse order."""
        if self.metrics:
            self.metrics.stop()
        if self.scheduler:
            self.scheduler.stop()
        for name in [n for n in self.servers if n not in ("PostgreSQL", "Redis")][::-1]:
            self.servers.pop(name).stop()
        if self.broker and self.runtime:
            # What stopping the servers announced (a publish ended with nginx) reaches its
            # functions while they still run; what does not in time is delivered next start.
            self.broker.drain(timeout=DRAIN_SECONDS)
        if self.runtime:
            self.runtime.stop()
        if self.broker:
            self.broker.close()

    def stop_servers(self) -> None:
        for name in ("Redis", "PostgreSQL"):
            server = self.servers.pop(name, None)
            if server is not None:
                server.stop()
        services.stop_redis(self.profile)
        services.stop_postgres(self.profile)


def lock(path: Path) -> bool:
    """Take the single-instance lock; False when a live process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        try:
            os.kill(int(path.read_text().strip()), 0)
            return False
        except (ProcessLookupError, ValueError):
            pass
    path.write_text(str(os.getpid()))
    return True
