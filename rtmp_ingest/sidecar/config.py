"""The sidecar's settings, from the environment (pydantic-settings), and the tokens it derives
from the ingest secret.

SIDECAR_HOST and SIDECAR_PORT (where it listens; callbacks come from nginx on loopback, and in
a pod the kubelet's probes reach /healthz on the pod's address, so SIDECAR_HOST is 0.0.0.0
there and callbacks from elsewhere are 403), FUNCTIONS_URL (a gateway routing the internal
functions) or AUTHORIZE_URL and REPORT_URL, STREAMFN_INGEST_SECRET, POD_NAME, SHOW_RTMP_URL,
STAT_URL, MEDIA_DIR, STREAMFN_PUBLIC_HLS_BASE_URL, REPORT_SECONDS, THUMBNAIL_SECONDS.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared_lib.config import PLACEHOLDERS

SECRET_HEADER = "X-Streamfn-Ingest-Secret"


def _env(name: str, field: str) -> AliasChoices:
    return AliasChoices(name, field)


class Config(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True,
                                      env_ignore_empty=True)

    host: str = Field("127.0.0.1", validation_alias=_env("SIDECAR_HOST", "host"))
    port: int = Field(8084, validation_alias=_env("SIDECAR_PORT", "port"))
    functions_url: str = Field("http://127.0.0.1:8082",
                               validation_alias=_env("FUNCTIONS_URL", "functions_url"))
    authorize_url: str = Field("", validation_alias=_env("AUTHORIZE_URL", "authorize_url"))
    report_url: str = Field("", validation_alias=_env("REPORT_URL", "report_url"))
    ingest_secret: SecretStr = Field(validation_alias=_env("STREAMFN_INGEST_SECRET",
                                                           "ingest_secret"))
    pod: str = Field("rtmp-ingest-0", validation_alias=_env("POD_NAME", "pod"))
    show_rtmp_url: str = Field("rtmp://127.0.0.1:1935/show",
                               validation_alias=_env("SHOW_RTMP_URL", "show_rtmp_url"))
    stat_url: str = Field("http://127.0.0.1:8083/stat", validation_alias=_env("STAT_URL", "stat_url"))
    media_dir: Path = Field(Path("/var/lib/streamfn/media"),
                            validation_alias=_env("MEDIA_DIR", "media_dir"))
    public_media_url: str = Field("http://127.0.0.1:8081", validation_alias=_env(
        "STREAMFN_PUBLIC_HLS_BASE_URL", "public_media_url"))
    report_seconds: float = Field(5.0, validation_alias=_env("REPORT_SECONDS", "report_seconds"))
    thumbnail_seconds: float = Field(15.0, validation_alias=_env("THUMBNAIL_SECONDS",
                                                                 "thumbnail_seconds"))
    timeout_seconds: float = 5.0

    @model_validator(mode="after")
    def _fit_to_run(self) -> Config:
        if self.ingest_secret.get_secret_value().strip().lower() in PLACEHOLDERS:
            raise ValueError("STREAMFN_INGEST_SECRET is missing or a placeholder")
        return self

    @property
    def authorize(self) -> str:
        return self.authorize_url or f"{self.functions_url.rstrip('/')}/internal/ingest/authorize"

    @property
    def report(self) -> str:
        return self.report_url or f"{self.functions_url.rstrip('/')}/internal/ingest/report"

    @property
    def show(self) -> str:
        return self.show_rtmp_url.rstrip("/")

    @property
    def source(self) -> str:
        return f"/rtmp-ingest/{self.pod}"

    @property
    def spool(self) -> Path:
        """Events not yet accepted by the broker, on the media volume: they outlive the pod."""
        return self.media_dir / "events" / self.pod

    def relay_token(self, stream_id: str, publish_id: str) -> str:
        """What the sidecar's relay into `show` carries, and a publish without it lacks."""
        return derived_token(self.ingest_secret.get_secret_value(), f"relay:{stream_id}:{publish_id}")


def derived_token(secret: str, purpose: str) -> str:
    """A token for one purpose, derived from the ingest secret (HMAC-SHA256, hex)."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def stat_token(secret: str) -> str:
    """The header value nginx's stat page asks for: it lists the stream keys being published."""
    return derived_token(secret, "stat")


def render_nginx_conf(template: str, values: dict[str, str]) -> str:
    """nginx.conf from its template; every ${NAME} must be given."""
    return string.Template(template).substitute(values)
