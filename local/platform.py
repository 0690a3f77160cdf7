"""The whole platform on one machine: servers, keys, migrations, the functions' runtime,
the front door, broker and scheduler, started in order and stopped in reverse.

`make dev` runs it with the `dev` profile; the e2e tests run it with the `test` profile.
Every listener binds 127.0.0.1. Ports and the runtime's settings come from the environment
(README, "Configuration").
"""

from __future__ import annotations

import functools
import http.client
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from local import issuer, services
from local.broker import QUEUE_ENV, WAKEUP_ENV, Broker, Delivery, Trigger
from local.event_store import EventStore
from local.frontdoor import FrontDoorConfig, render
from local.ingest import Ingest, IngestPorts
from local.instances import Instance, Policy, bind
from local.processes import Supervised, spawn
from local.routes import RouteTable
from local.runtime import Runtime
from local.scheduler import Scheduler
from local.services import ROOT

log = logging.getLogger(__name__)
INGRESS = "broker-ingress"


@dataclass
class Ports:
    api: int = 8080
    hls: int = 8081
    internal: int = 8082
    rtmp: int = 1935
    stat: int = 8083
    sidecar: int = 8084
    functions: int = 9100
    # Where the public listeners (API, RTMP) bind, and the host name public URLs carry.
    # Loopback under `make dev`; a machine's own address in production.
    bind: str = "127.0.0.1"
    host: str = "127.0.0.1"

    @classmethod
    def from_environment(cls) -> Ports:
        env = os.environ
        return cls(
            bind=env.get("STREAMFN_BIND_ADDRESS", "127.0.0.1"),
            host=env.get("STREAMFN_PUBLIC_HOST", "127.0.0.1"),
            api=int(env.get("STREAMFN_API_PORT", 8080)),
            hls=int(env.get("STREAMFN_HLS_PORT", 8081)),
            internal=int(env.get("STREAMFN_INTERNAL_PORT", 8082)),
            rtmp=int(env.get("STREAMFN_RTMP_PORT", 1935)),
            stat=int(env.get("STREAMFN_STAT_PORT", 8083)),
            sidecar=int(env.get("STREAMFN_SIDECAR_PORT", 8084)),
            functions=int(env.get("STREAMFN_FUNCTIONS_BASE_PORT", 9100)),
        )


def _secret_file(profile: services.Profile, name: str) -> str:
    path = profile.home / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def media_dir(profile: services.Profile) -> Path:
    """Where nginx writes HLS, DASH and recordings, and the functions write replays: the
    volume the ingest pod and the media functions share on a cluster."""
    return profile.home / "nginx" / "media"


def function_env(profile: services.Profile, ports: Ports, *, environment: str,
                 tls: bool = False) -> dict[str, str]:
    """The settings every function process gets, as a ConfigMap and Secret would give them.
    With TLS the front door serves the media too, so players load it from the page's own
    (HTTPS) origin."""
    from shared_lib.security import generate_signing_key

    keys = profile.home / "keys"
    private, jwks = keys / "jwt-private.pem", keys / "jwks.json"
    if not private.exists():
        generate_signing_key(private, jwks)
    tokens = sender_tokens(profile)
    tokens.refresh(force=True)
    return {
        "STREAMFN_ENVIRONMENT": environment,
        "STREAMFN_DATABASE_URL": profile.database_url,
        "STREAMFN_REDIS_URL": profile.redis_url,
        "STREAMFN_JWT_PRIVATE_KEY_FILE": str(private),
        "STREAMFN_JWT_PUBLIC_KEYS_FILE": str(jwks),
        "STREAMFN_INGEST_SECRET": _secret_file(profile, "ingest-secret"),
        "STREAMFN_PUBLIC_HLS_BASE_URL": (f"https://{ports.host}:{ports.api}" if tls
                                         else f"http://{ports.host}:{ports.hls}"),
        "STREAMFN_PUBLIC_RTMP_URL": f"rtmp://{ports.host}:{ports.rtmp}/live",
        "STREAMFN_MEDIA_DIR": str(media_dir(profile)),
        # `make dev` is for local testing: webhooks may point at receivers on this machine.
        "STREAMFN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": str(environment == "development").lower(),
        # Everyone on one machine registers from 127.0.0.1 while trying it out.
        **({"STREAMFN_REGISTER_MAX_PER_ADDRESS": "1000"} if environment == "development" else {}),
        "K_SINK": f"http://127.0.0.1:{ports.internal}/",
        "STREAMFN_OIDC_ISSUER": issuer.ISSUER,
        "STREAMFN_OIDC_JWKS_FILE": str(tokens.issuer.jwks_file),
        "STREAMFN_SENDER_TOKEN_FILE": str(tokens.paths[issuer.FUNCTIONS]),
    }


def sender_tokens(profile: services.Profile) -> issuer.TokenFiles:
    """The local issuer of the profile, and the senders' token files it keeps fresh."""
    return issuer.TokenFiles(issuer.Issuer(profile.home / "keys"), profile.home / "tokens")


def reset_caches() -> None:
    """Forget settings, engines and clients built from an earlier environment."""
    from shared_lib import cache, config, db, security

    for cached in (config.get_settings, db.get_engine, db.get_session_factory, cache.get_redis,
                   cache.get_redis_bytes,
                   security.get_signer, security.get_jwks, security.get_verifier):
        cached.cache_clear()


def http_send(port: int, path: str = "/", timeout: float = 30.0, token=None):
    """POST a binary-mode event to whatever listens on 127.0.0.1:`port`, with the bearer
    token `token()` gives (the subscriber's audience), if any."""

    def send(headers: dict[str, str], body: bytes):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        authorization = {"Authorization": f"Bearer {token()}"} if token else {}
        try:
            connection.request("POST", path, body=body, headers={**headers, **authorization})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    return send


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
                 extra_specs: tuple = (), tls: tuple[Path, Path] | None = None) -> None:
        self.profile, self.ports = profile, ports
        self.environment, self.delivery, self.schedule = environment, delivery, schedule
        self.overrides = overrides or {}
        self.with_ingest = ingest
        self.site = site
        self.extra_specs = list(extra_specs)  # benchmarks add their baseline beside the catalog
        self.tls = tls
        env = os.environ
        self.idle_seconds = idle_seconds if idle_seconds is not None else float(
            env.get("STREAMFN_SCALE_TO_ZERO_SECONDS", 60))
        self.scale_down_seconds = scale_down_seconds if scale_down_seconds is not None else float(
            env.get("STREAMFN_SCALE_DOWN_SECONDS", 30))
        self.env: dict[str, str] = {}
        self.servers: dict[str, Supervised] = {}
        self.runtime: Runtime | None = None
        self.broker: Broker | None = None
        self.scheduler: Scheduler | None = None
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
            Instance(spec.name, [sys.executable, "-m", "local.serve", str(ROOT / spec.source), spec.target],
                     process_env, self._policy(spec.scaling), listeners[spec.name], run,
                     self.logs / f"{spec.name}.log")
            for spec in specs
        ]
        instances.append(Instance(
            INGRESS, [sys.executable, "-m", "local.serve", "--app", "local.ingress:ingress"],
            {**process_env, WAKEUP_ENV: wakeup, QUEUE_ENV: self.profile.name},
            Policy(min_scale=1, max_scale=2, concurrency=16),
            listeners[INGRESS], run, self.logs / "broker-ingress.log"))
        self.runtime = Runtime(instances, list(self.servers.values()),
                               tasks=[sender_tokens(self.profile).refresh])
        ports = {instance.name: instance.port for instance in instances}
        timeouts = [s.scaling.timeout_seconds for s in specs if s.kind == HTTP] or [30]
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
        if self.with_ingest:
            self.ingest = Ingest(
                self.profile.home / "nginx", media_dir(self.profile),
                IngestPorts(rtmp=self.ports.rtmp, media=self.ports.hls, stat=self.ports.stat,
                            sidecar=self.ports.sidecar, bind=self.ports.bind),
                functions_url=self.internal_url, env=env)
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
            tls=self.tls, media=media_dir(self.profile) if self.tls else None)
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

    def stop(self) -> None:
        """Stop everything but PostgreSQL and Redis, in reverse order."""
        if self.scheduler:
            self.scheduler.stop()
        for name in [n for n in self.servers if n not in ("PostgreSQL", "Redis")][::-1]:
            self.servers.pop(name).stop()
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


def dev_profile() -> services.Profile:
    return services.Profile(
        os.environ.get("STREAMFN_PROFILE", "dev"),
        pg_port=int(os.environ.get("STREAMFN_PG_PORT", 55432)),
        redis_port=int(os.environ.get("STREAMFN_REDIS_PORT", 56379)),
    )


def test_profile() -> services.Profile:
    return services.Profile(
        "test",
        pg_port=int(os.environ.get("STREAMFN_TEST_PG_PORT", 55433)),
        redis_port=int(os.environ.get("STREAMFN_TEST_REDIS_PORT", 56380)),
    )


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
