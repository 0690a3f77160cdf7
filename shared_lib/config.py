"""Typed settings, read from the environment once and lazily through get_settings().

pydantic-settings reads them: every variable is named STREAMFN_<FIELD> (upper case), except
K_SINK and K_CE_OVERRIDES, which Knative injects under its own names. Secrets are SecretStr,
so they print as stars in a log or a traceback. Nothing reads the environment at import
time: a function pays for its settings on the first request that needs them.

Outside development and test, a missing or placeholder secret is a start-up error, so a
cluster can never run with the signing key or ingest secret of a laptop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PLACEHOLDERS = {"", "change-me", "changeme", "secret", "placeholder"}
RELAXED_ENVIRONMENTS = {"development", "test"}


class SettingsError(RuntimeError):
    """The environment describes a configuration that must not run."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STREAMFN_", frozen=True, extra="ignore",
                                      populate_by_name=True, env_ignore_empty=True)

    environment: str = "development"
    database_url: SecretStr = SecretStr("postgresql+pg8000://streamfn@127.0.0.1:5432/streamfn")
    # Two connections kept per process, three more opened under load and kept until it has
    # passed (connections.LingeringPool): closing each at once cost a SCRAM handshake and a
    # new backend for a third of all requests at 16 concurrent follows. Keeping all five for
    # good holds five per warm process: on one machine, 70 functions outgrew PostgreSQL's 100
    # connections. Raise both together (or put PgBouncer first).
    database_pool_size: int = 2
    database_max_overflow: int = 3
    # TLS to PostgreSQL, as libpq's sslmode: "disable" (a server on this machine), "prefer"
    # (TLS when the server offers it, unverified: pg8000's own default), "require" (TLS or
    # no connection, unverified) or "verify-full" (TLS with the server's certificate checked
    # against the system's CAs and its host name). One context per process: pg8000 makes a
    # new one for every connection otherwise, reading the CA store each time.
    database_sslmode: Literal["disable", "prefer", "require", "verify-full"] = "prefer"
    # Statements each connection keeps prepared (shared_lib/pgwire.py): one round trip per
    # statement instead of three. 0 behind a pooler that cannot keep them (PgBouncer in
    # transaction mode before 1.21).
    database_prepared_statements: int = Field(default=256, ge=0)
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    redis_timeout_seconds: float = 0.5

    jwt_private_key_file: str = ""
    jwt_public_keys_file: str = ""
    jwt_issuer: str = "streamfn"
    jwt_audience: str = "streamfn-api"
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    bcrypt_rounds: int = 12

    login_window_seconds: int = 900
    login_max_failures_per_account: int = 10
    login_max_failures_per_address: int = 50
    register_max_per_address: int = 20  # an hour
    trusted_proxy_hops: int = 1

    public_hls_base_url: str = "http://127.0.0.1:8081"
    public_rtmp_url: str = "rtmp://127.0.0.1:1935/live"
    public_rtmps_url: str = "rtmps://127.0.0.1:1936/live"
    stale_stream_seconds: int = 60
    viewer_window_seconds: int = 60
    heartbeat_min_interval_seconds: int = 10
    anonymous_viewers_per_address: int = 10
    media_dir: str = "/var/lib/streamfn/media"
    replay_retention_days: int = 30

    notification_retention_days: int = 90
    # Webhook receivers on private, loopback or link-local addresses: for local testing only.
    webhook_allow_private_addresses: bool = False
    webhook_timeout_seconds: float = 5.0
    webhook_retry_base_seconds: int = 30
    webhook_retry_max_seconds: int = 7200
    webhook_max_attempts: int = 20
    webhook_disable_after_seconds: int = 86400

    # Sender identity (shared_lib.events.sender): the service-account issuer, its keys, and this
    # process's own projected token for the broker.
    oidc_issuer: str = "https://kubernetes.default.svc.cluster.local"
    oidc_jwks_file: str = ""
    sender_token_file: str = ""

    max_body_bytes: int = 64 * 1024
    ingest_secret: SecretStr = SecretStr("change-me")
    # Knative's own names: a SinkBinding injects these.
    k_sink: str = Field(default="", validation_alias=AliasChoices("K_SINK", "k_sink"))
    k_ce_overrides: str = Field(default="", validation_alias=AliasChoices("K_CE_OVERRIDES",
                                                                            "k_ce_overrides"))

    @property
    def relaxed(self) -> bool:
        return self.environment in RELAXED_ENVIRONMENTS

    def read_private_key(self) -> bytes:
        return _read_file(self.jwt_private_key_file, "jwt_private_key_file")

    def read_public_keys(self) -> bytes:
        return _read_file(self.jwt_public_keys_file, "jwt_public_keys_file")

    @model_validator(mode="after")
    def _fit_to_run(self) -> Settings:
        if self.bcrypt_rounds < 4 or self.bcrypt_rounds > 16:
            raise SettingsError("STREAMFN_BCRYPT_ROUNDS must be between 4 and 16")
        if self.replay_retention_days < 1:
            raise SettingsError("STREAMFN_REPLAY_RETENTION_DAYS must be at least 1")
        if self.relaxed:
            return self
        if self.ingest_secret.get_secret_value().strip().lower() in PLACEHOLDERS:
            raise SettingsError("STREAMFN_INGEST_SECRET is a placeholder outside development")
        if self.bcrypt_rounds < 12:
            raise SettingsError("STREAMFN_BCRYPT_ROUNDS below 12 is for development only")
        if self.webhook_allow_private_addresses:
            raise SettingsError("STREAMFN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES is for local testing only")
        return self


def _read_file(path: str, field: str) -> bytes:
    if not path:
        raise SettingsError(f"STREAMFN_{field.upper()} is not set")
    return Path(path).read_bytes()


def env_name(field: str) -> str:
    """The variable a field is read from."""
    return field.upper() if field.startswith("k_") else f"STREAMFN_{field.upper()}"


def _checked(build: Callable[[], Settings]) -> Settings:
    """Settings, or a SettingsError naming the variable that is wrong (never its value)."""
    try:
        return build()
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        raise SettingsError(f"{env_name(field)}: {first['msg']}") from None


class _Given(Settings):
    """Settings from the values given alone: this process's environment is not read."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def from_environment(environ: Mapping[str, str]) -> Settings:
    """The settings `environ` describes, and nothing else (what a child process started
    with it will see)."""
    values = {field: environ[env_name(field)] for field in Settings.model_fields
              if environ.get(env_name(field))}
    return _checked(lambda: _Given(**values))  # type: ignore[arg-type]  # pydantic coerces the strings


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return _checked(Settings)
