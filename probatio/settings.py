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
    """The owner's URL on the embedded PostgreSQL (migrations and maintenance only)."""
    return f"postgresql://postgres@127.0.0.1:{port}/{database_name(state)}"


# The password `probatio dev` generated for the application's login role (store.db.APP_LOGIN_ROLE).
APP_PASSWORD_FILE = "db-app-password"  # noqa: S105 - the name of a file, not a password


def embedded_app_database_url(state: str, home: Path, port: int = EMBEDDED_PG_PORT) -> str:
    """The application's URL on the embedded PostgreSQL: the least-privileged login role, never the owner."""
    from psycopg.conninfo import make_conninfo

    secret = home / APP_PASSWORD_FILE
    password = secret.read_text(encoding="utf-8").strip() if secret.exists() else ""
    return make_conninfo(embedded_database_url(state, port), user="probatio_node", password=password)


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
    # The web app and the worker connect with this URL: a role that may read and write cases but only add
    # to the audit log (store/migrations/0012). Migrations and audit pruning use the owner's URL.
    database_url: str | None = None
    database_owner_url: str | None = None
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    # The node's Temporal task queue is `<prefix>-<state>`: nodes sharing a namespace (tests, simulations on
    # one server) keep apart by a prefix of their own, so no worker takes up another's workflows.
    task_queue_prefix: str = "probatio"
    # `probatio web` and `probatio worker` refuse to start as a superuser or the tables' owner (issue 15): such a
    # role could switch the audit log's guards off. Only for a deployment that cannot have two roles yet.
    allow_owner_connection: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    # The reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks, comma
    # separated; "*" for any): behind them, the sign-in limit per address and the audit see the client's
    # address, not the proxy's. The default believes only a proxy on this host.
    trusted_proxies: str = "127.0.0.1"
    public_url: str | None = None
    signing_key_file: Path | None = None
    directory_file: Path | None = None
    # The node's electronic seal on the certificates it issues (adapters/seal.py): an RSA key and its X.509
    # certificate in PEM files (self-signed ones are created where absent: fine for trying it out, not
    # qualified), or, when seal_pkcs11_module is set, a key in a PKCS#11 token (HSM, smart card).
    seal_key_file: Path | None = None
    seal_certificate_file: Path | None = None
    seal_pkcs11_module: Path | None = Field(None, description="the token's PKCS#11 library (.so)")
    seal_pkcs11_token_label: str | None = None
    seal_pkcs11_key_label: str | None = None
    seal_pkcs11_certificate_label: str | None = Field(None, description="defaults to the key label")
    seal_pkcs11_pin_file: Path | None = Field(None, description="a file holding the token's user PIN")
    session_secret: str | None = None
    log_format: str = "text"
    # "Without delay" duties get this many working days as a policy deadline (not law: fd947.md §7).
    duty_working_days: int = 2
    # Window in which a node-link envelope's sent_at is accepted (replay protection with message ids).
    envelope_window_seconds: int = 600
    # How long delivery to a peer is retried before the case shows `delivery_failed`.
    delivery_retry_hours: int = 48
    # How often each worker hands over messages the intake kept without telling their case's workflow
    # (Temporal did not answer just after the message was stored): intake.receive.hand_over_kept.
    hand_over_sweep_seconds: int = Field(60, ge=1)
    # e-CODEX: how often the node polls its connector client (one Temporal schedule per node), and how long
    # a message waits for each stage's evidence before the case shows `delivery_unconfirmed`; the defaults
    # are the connector's own time-outs (adapters/evidence.py). Keep them equal to the connector's.
    ecodex_poll_seconds: int = Field(30, ge=5)
    ecodex_relay_hours: int = Field(12, ge=1)
    ecodex_delivery_hours: int = Field(24, ge=1)
    ecodex_retrieval_hours: int = Field(36, ge=1)
    # Workflows a worker keeps in memory (the SDK's default); others are replayed from history when touched.
    # bench open-supervisions measures about 0.2 MiB each: size the worker's memory limit from this.
    worker_cached_workflows: int = Field(1000, ge=1)
    # Telemetry (probatio/telemetry.py): traces are configured by the standard OTEL_* variables, not here.
    # Prometheus metrics on this port (worker and web; the web app also serves /metrics); unset: none.
    metrics_port: int | None = None
    # Where the metrics port listens: all interfaces by default, so the cluster's Prometheus can scrape
    # the pod; it is only opened when metrics_port is set.
    metrics_host: str = "0.0.0.0"  # noqa: S104
    # Pages: a signed-in session lasts this long (a working day plus margin), then the user signs in again.
    session_hours: int = 10
    # API tokens expire this many days after they are issued (`probatio users tokens NAME` shows when).
    token_days: int = Field(90, ge=1)
    # Sign-in: after `sign_in_backoff_after` failures for a user name or an address, each further attempt
    # must wait twice as long as the last (from 1 s); after `sign_in_lock_after` failures the name or
    # address is locked for `sign_in_lock_minutes`. Every failure and lock is audited.
    sign_in_backoff_after: int = Field(3, ge=1)
    sign_in_lock_after: int = Field(10, ge=1)
    sign_in_lock_minutes: int = Field(15, ge=1)
    # Largest request body of the JSON API and the pages (the inbox and uploads have their own, larger
    # caps from adapters/envelope.py). A body over the cap is refused with 413 before it is read whole.
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
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
    def ecodex_evidence_hours(self) -> dict[str, int]:
        """Stage → hours to wait for its e-CODEX evidence (workflows/delivery.py EVIDENCE_STAGES)."""
        return {"relay": self.ecodex_relay_hours, "delivery": self.ecodex_delivery_hours,
                "retrieval": self.ecodex_retrieval_hours}

    @property
    def task_queue(self) -> str:
        return f"{self.task_queue_prefix}-{self.state}"

    @property
    def node_authority(self) -> str:
        return self.authority or self.state

    @property
    def effective_database_url(self) -> str:
        return self.database_url or embedded_app_database_url(self.state, self.home)

    @property
    def effective_database_owner_url(self) -> str:
        """Where `probatio migrate` and `probatio audit prune` connect: the owner's URL; a deployment that
        still names one URL only (before issue 15) migrates with it."""
        return self.database_owner_url or self.database_url or embedded_database_url(self.state)

    @property
    def effective_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{EMBEDDED_TEMPORAL_PORT}"

    @property
    def effective_signing_key_file(self) -> Path:
        return self.signing_key_file or self.home / "keys" / f"{self.state}.pem"

    @property
    def effective_seal_key_file(self) -> Path:
        return self.seal_key_file or self.home / "keys" / f"{self.state}-seal.key"

    @property
    def effective_seal_certificate_file(self) -> Path:
        return self.seal_certificate_file or self.home / "keys" / f"{self.state}-seal.crt"

    @property
    def effective_directory_file(self) -> Path:
        return self.directory_file or self.home / "directory.yaml"

    @property
    def effective_public_url(self) -> str:
        return self.public_url or f"http://{self.web_host}:{self.web_port}"
