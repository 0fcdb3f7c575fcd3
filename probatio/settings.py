"""Node settings: `PROBATIO_*` environment variables, optionally a TOML file named by `PROBATIO_CONFIG`.

Where the database or Temporal address is unset, the embedded defaults of `probatio dev` are used.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# Where the embedded stack keeps its data, keys and credentials (relative to the working directory).
DEFAULT_HOME = Path(".probatio")
EMBEDDED_PG_PORT = 55432
EMBEDDED_TEMPORAL_PORT = 7233
EMBEDDED_TEMPORAL_UI_PORT = 8233


def database_name(state: str) -> str:
    """Each node of the embedded stack has its own database in the shared PostgreSQL."""
    return f"probatio_{state.lower()}"


def embedded_database_url(state: str, port: int = EMBEDDED_PG_PORT) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database_name(state)}"


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the optional TOML file; environment variables take precedence over it."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("PROBATIO_CONFIG")
        if not path:
            return {}
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        return dict(data.get("probatio", data))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROBATIO_", extra="ignore")

    state: str = Field("LU", description="The member state this node serves (ISO code as the EU writes it)")
    authority: str = Field("", description="Default authority code of this node's users; defaults to the state")
    home: Path = DEFAULT_HOME
    database_url: str | None = None
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    public_url: str | None = None
    signing_key_file: Path | None = None
    directory_file: Path | None = None
    session_secret: str | None = None
    log_format: str = "text"
    # "Without delay" duties get this many working days as a policy deadline (not law: fd947.md §7).
    duty_working_days: int = 2
    # Window in which a node-link envelope's sent_at is accepted (replay protection with message ids).
    envelope_window_seconds: int = 600
    # How long delivery to a peer is retried before the case shows `delivery_failed`.
    delivery_retry_hours: int = 48
    # Workflows a worker keeps in memory (the SDK's default); others are replayed from history when touched.
    # bench open-supervisions measures about 0.2 MiB each: size the worker's memory limit from this.
    worker_cached_workflows: int = Field(1000, ge=1)
    # Telemetry (probatio/telemetry.py). Traces go over OTLP/HTTP to this collector (base URL such as
    # http://otel-collector:4318, or the full …/v1/traces URL); unset: no tracing.
    otel_exporter_otlp_endpoint: str | None = None
    # Prometheus metrics on this port (worker and web; the web app also serves /metrics); unset: none.
    metrics_port: int | None = None
    # Where the metrics port listens: all interfaces by default, so the cluster's Prometheus can scrape
    # the pod; it is only opened when metrics_port is set.
    metrics_host: str = "0.0.0.0"  # noqa: S104
    # Pages: a signed-in session lasts this long (a working day plus margin), then the user signs in again.
    session_hours: int = 10
    # Retention: personal data of a case closed longer ago than this is erased (the audit log is kept
    # five years regardless); the sweep runs every `retention_sweep_hours` as a Temporal schedule.
    retention_days: int = Field(3 * 365, ge=1)
    retention_sweep_hours: int = Field(24, ge=1)
    # OIDC sign-in (production option, off unless issuer and client id are set). The IdP names the user
    # (`oidc_username_claim`); roles and authorities stay those of the local user of that name.
    oidc_issuer: str | None = Field(None, description="issuer URL; its /.well-known/openid-configuration is read")
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scope: str = "openid profile email"
    oidc_username_claim: str = "preferred_username"
    oidc_label: str = "Sign in with your organisation's account"
    # The pages' language when the user chose none and the browser's Accept-Language names none we have
    # (web/i18n.py); a code of web/locale (en, fr, de, …).
    default_language: str = Field("en", pattern=r"^[a-z]{2,3}$")

    @field_validator("state")
    @classmethod
    def _upper(cls, v: str) -> str:
        if len(v) != 2 or not v.isalpha():
            raise ValueError("must be a two-letter member state code such as LU")
        return v.upper()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _TomlSource(settings_cls), file_secret_settings

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def task_queue(self) -> str:
        return f"probatio-{self.state}"

    @property
    def node_authority(self) -> str:
        return self.authority or self.state

    @property
    def effective_database_url(self) -> str:
        return self.database_url or embedded_database_url(self.state)

    @property
    def effective_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{EMBEDDED_TEMPORAL_PORT}"

    @property
    def effective_signing_key_file(self) -> Path:
        return self.signing_key_file or self.home / "keys" / f"{self.state}.pem"

    @property
    def effective_directory_file(self) -> Path:
        return self.directory_file or self.home / "directory.yaml"

    @property
    def effective_public_url(self) -> str:
        return self.public_url or f"http://{self.web_host}:{self.web_port}"
