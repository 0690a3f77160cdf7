"""What the one-machine platform is configured with: the runtime's own settings (read from
the environment by pydantic-settings), its ports and profiles, and the environment every
function process gets, as a ConfigMap and Secret would give it on a cluster.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from local import issuer, services


class RuntimeSettings(BaseSettings):
    """STREAMFN_<NAME> (README, "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="STREAMFN_", frozen=True, extra="ignore",
                                      env_ignore_empty=True)

    environment: str = "development"
    profile: str = "dev"
    pg_port: int = 15432
    redis_port: int = 16379
    test_pg_port: int = 15433
    test_redis_port: int = 16380
    # Where the public listeners (API, RTMP) bind, and the host name public URLs carry.
    bind_address: str = "127.0.0.1"
    public_host: str = "127.0.0.1"
    api_port: int = 8080
    hls_port: int = 8081
    internal_port: int = 8082
    rtmp_port: int = 1935
    rtmps_port: int = 1936
    stat_port: int = 8083
    sidecar_port: int = 8084
    functions_base_port: int = 9100
    tls_certificate_file: Path | None = None
    tls_key_file: Path | None = None
    scale_to_zero_seconds: float = Field(60.0, gt=0)
    scale_down_seconds: float = Field(30.0, gt=0)
    # Open event streams (chat) one client address may hold through the front door; 0: no cap.
    streams_per_address: int = Field(100, ge=0)

    @property
    def tls(self) -> tuple[Path, Path] | None:
        if self.tls_certificate_file and self.tls_key_file:
            return self.tls_certificate_file, self.tls_key_file
        return None


@dataclass
class Ports:
    api: int = 8080
    hls: int = 8081
    internal: int = 8082
    rtmp: int = 1935
    rtmps: int = 1936
    stat: int = 8083
    sidecar: int = 8084
    functions: int = 9100
    # Where the public listeners (API, RTMP) bind, and the host name public URLs carry.
    # Loopback under `make dev`; a machine's own address in production.
    bind: str = "127.0.0.1"
    host: str = "127.0.0.1"

    @classmethod
    def from_environment(cls) -> Ports:
        s = RuntimeSettings()
        return cls(api=s.api_port, hls=s.hls_port, internal=s.internal_port, rtmp=s.rtmp_port,
                   rtmps=s.rtmps_port, stat=s.stat_port, sidecar=s.sidecar_port,
                   functions=s.functions_base_port, bind=s.bind_address, host=s.public_host)


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
        # PostgreSQL on this machine has no TLS: no offer and refusal per new connection.
        "STREAMFN_DATABASE_SSLMODE": "disable",
        "STREAMFN_REDIS_URL": profile.redis_url,
        "STREAMFN_JWT_PRIVATE_KEY_FILE": str(private),
        "STREAMFN_JWT_PUBLIC_KEYS_FILE": str(jwks),
        "STREAMFN_INGEST_SECRET": _secret_file(profile, "ingest-secret"),
        "STREAMFN_PUBLIC_HLS_BASE_URL": (f"https://{ports.host}:{ports.api}" if tls
                                         else f"http://{ports.host}:{ports.hls}"),
        "STREAMFN_PUBLIC_RTMP_URL": f"rtmp://{ports.host}:{ports.rtmp}/live",
        "STREAMFN_PUBLIC_RTMPS_URL": f"rtmps://{ports.host}:{ports.rtmps}/live",
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


def dev_profile() -> services.Profile:
    s = RuntimeSettings()
    return services.Profile(s.profile, pg_port=s.pg_port, redis_port=s.redis_port)


def test_profile() -> services.Profile:
    s = RuntimeSettings()
    return services.Profile("test", pg_port=s.test_pg_port, redis_port=s.test_redis_port)
