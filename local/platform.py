"""The whole platform on one machine: servers, keys, migrations, functions, gateway,
broker and scheduler, started in order and stopped in reverse.

`make dev` runs it with the `dev` profile; the e2e tests run it with the `test` profile.
Every listener binds 127.0.0.1. Ports and the function mode come from the environment
(README, "Configuration").
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from local import services
from local.broker import Broker, Delivery, Trigger
from local.gateway import Gateway
from local.scheduler import Scheduler
from local.upstreams import InProcess, Processes

log = logging.getLogger(__name__)


@dataclass
class Ports:
    api: int = 8080
    hls: int = 8081
    internal: int = 8082
    rtmp: int = 1935
    stat: int = 8083
    sidecar: int = 8084
    functions: int = 9100

    @classmethod
    def from_environment(cls) -> "Ports":
        env = os.environ
        return cls(
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


def function_env(profile: services.Profile, ports: Ports, *, environment: str) -> dict[str, str]:
    """The settings every function process gets, as a ConfigMap and Secret would give them."""
    from shared_lib.security import generate_signing_key

    keys = profile.home / "keys"
    private, jwks = keys / "jwt-private.pem", keys / "jwks.json"
    if not private.exists():
        generate_signing_key(private, jwks)
    return {
        "STREAMFN_ENVIRONMENT": environment,
        "STREAMFN_DATABASE_URL": profile.database_url,
        "STREAMFN_REDIS_URL": profile.redis_url,
        "STREAMFN_JWT_PRIVATE_KEY_FILE": str(private),
        "STREAMFN_JWT_PUBLIC_KEYS_FILE": str(jwks),
        "STREAMFN_INGEST_SECRET": _secret_file(profile, "ingest-secret"),
        "STREAMFN_PUBLIC_HLS_BASE_URL": f"http://127.0.0.1:{ports.hls}",
        "STREAMFN_PUBLIC_RTMP_URL": f"rtmp://127.0.0.1:{ports.rtmp}/live",
        "STREAMFN_MEDIA_DIR": str(media_dir(profile)),
        # `make dev` is for local testing: webhooks may point at receivers on this machine.
        "STREAMFN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": str(environment == "development").lower(),
        "K_SINK": f"http://127.0.0.1:{ports.internal}/",
    }


def reset_caches() -> None:
    """Forget settings, engines and clients built from an earlier environment."""
    from shared_lib import cache, config, db, security

    for cached in (config.get_settings, db.get_engine, db.get_session_factory, cache.get_redis,
                   cache.get_redis_bytes,
                   security.get_signer, security.get_jwks, security.get_verifier):
        cached.cache_clear()


class _Server:
    def __init__(self, port: int, app) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


class Platform:
    def __init__(self, profile: services.Profile, ports: Ports, *, mode: str = "inprocess",
                 environment: str = "development", delivery: Delivery = Delivery(),
                 schedule: bool = True, overrides: dict[str, str] | None = None,
                 ingest: bool = True, site: Path | None = None) -> None:
        self.profile, self.ports, self.mode = profile, ports, mode
        self.environment, self.delivery, self.schedule = environment, delivery, schedule
        self.overrides = overrides or {}
        self.with_ingest = ingest
        self.site = site
        self.ingest = None
        self.env: dict[str, str] = {}
        self._servers: list[_Server] = []
        self.upstream = None
        self.broker: Broker | None = None
        self.scheduler: Scheduler | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def internal_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.internal}"

    def start_servers(self) -> dict[str, str]:
        services.start_postgres(self.profile)
        services.start_redis(self.profile)
        env = {**function_env(self.profile, self.ports, environment=self.environment),
               **self.overrides}
        os.environ.update(env)
        reset_caches()
        from shared_lib.migrations import upgrade

        upgrade()
        return env

    def start(self) -> None:
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
        from shared_lib.catalog import EVENT, load_catalog

        specs = load_catalog()
        if self.mode == "processes":
            self.upstream = Processes(specs, base_port=self.ports.functions, env=env,
                                      log_dir=self.profile.home / "logs")
            self.upstream.start()
        else:
            self.upstream = InProcess()
        # An event function with no type is a sink (dead letters), not a Trigger subscriber.
        triggers = [Trigger(s.name, s.event_type, self.upstream.send(s))
                    for s in specs if s.kind == EVENT and s.event_type]
        self.broker = Broker(triggers, delivery=self.delivery)
        self.scheduler = Scheduler(specs, self.broker, self.upstream.send)
        self._servers = [
            _Server(self.ports.api, Gateway(specs, self.upstream.app, site=self._site())),
            _Server(self.ports.internal,
                    Gateway(specs, self.upstream.app, internal=True, root=self.broker.ingress)),
        ]
        for server in self._servers:
            server.start()
        if self.with_ingest:
            from local.ingest import Ingest, IngestPorts

            self.ingest = Ingest(
                self.profile.home / "nginx", media_dir(self.profile),
                IngestPorts(rtmp=self.ports.rtmp, media=self.ports.hls, stat=self.ports.stat,
                            sidecar=self.ports.sidecar),
                functions_url=self.internal_url, env=env)
            self.ingest.start()
        if self.schedule:
            self.scheduler.start()

    def _site(self):
        if self.site is None:
            return None
        from local.web import StaticSite

        return StaticSite(self.site)

    def stop(self) -> None:
        if self.scheduler:
            self.scheduler.stop()
        if self.ingest:
            self.ingest.stop()
        for server in reversed(self._servers):
            server.stop()
        if self.broker:
            self.broker.drain(10)
            self.broker.close()
        if self.upstream:
            self.upstream.close()

    def stop_servers(self) -> None:
        services.stop_redis(self.profile)
        services.stop_postgres(self.profile)


def dev_profile() -> services.Profile:
    return services.Profile(
        "dev",
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
