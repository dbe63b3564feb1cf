"""Settings: ``HEADWATER_*`` environment variables, optionally a YAML file.

Precedence, highest first: explicit keyword arguments, environment, the YAML file named by
``--config`` (exported to worker processes as ``HEADWATER_CONFIG``), defaults.
"""

from __future__ import annotations

import ipaddress
import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from headwater.catalog import secret_box
from headwater.catalog.secret_box import SecretBox
from headwater.names import parse_duration
from headwater.serving.cors import exact_origin

#: A comma-separated list in the environment (``a,b``), a list in the YAML file.
CommaList = Annotated[tuple[str, ...], NoDecode]

CONFIG_ENV = "HEADWATER_CONFIG"
DEFAULT_DATA_DIR = Path(".headwater")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEADWATER_", extra="forbid", frozen=True)

    # storage
    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Where the embedded SQLite database lives.")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty means SQLite under data_dir. "
        "PostgreSQL: postgresql+asyncpg://user@host/db",
    )
    auto_migrate: bool = Field(True, description="Apply database migrations at start-up.")

    # access
    admin_token: SecretStr | None = Field(
        None, description="Bootstrap admin bearer token; generated and printed once when unset."
    )

    # identity: OIDC (browser sign-in and bearer access tokens)
    oidc_issuer: str = Field("", description="OIDC issuer URL; enables bearer access tokens and sign-in.")
    oidc_client_id: str = Field("", description="OIDC client id (browser sign-in only).")
    oidc_client_secret: SecretStr | None = Field(
        None, description="OIDC client secret (browser sign-in only)."
    )
    oidc_audience: str = Field("", description="Audience access tokens must carry; default: the client id.")
    oidc_groups_claim: str = Field("groups", description="The claim that lists a user's groups.")
    oidc_admin_groups: CommaList = Field((), description="Groups whose members are admins.")
    oidc_auditor_groups: CommaList = Field((), description="Groups whose members are auditors.")
    oidc_scopes: str = Field("openid email profile", description="Scopes asked for at sign-in.")
    public_url: str = Field(
        "", description="The URL users reach Headwater at (sign-in redirects); default: from the request."
    )
    dashboard_url: str = Field(
        "",
        description="A usage dashboard (Grafana) the console links to; {key_id} is replaced by a key's id.",
    )
    session_ttl_s: float = Field(12 * 3600, gt=0, description="How long a browser session lasts.")
    trusted_headers: CommaList = Field(
        (), description="User and (optional) groups headers set by a gateway in front: X-Forwarded-User,..."
    )
    trusted_proxies: CommaList = Field(
        (), description="Source CIDRs trusted headers are accepted from (ignored from anywhere else)."
    )

    # self-service keys (non-admin callers)
    keys_default_expiry: str = Field("", description="Expiry given to self-service keys that ask none: 30d.")
    keys_max_expiry: str = Field("", description="Longest expiry a self-service key may have: 90d.")
    keys_max_active_per_user: int = Field(0, ge=0, description="Active keys per user; 0 = no maximum.")
    keys_max_requests_per_minute: int = Field(0, ge=0, description="Largest per-key request rate; 0 = any.")
    keys_max_tokens_per_minute: int = Field(0, ge=0, description="Largest per-key token rate; 0 = any.")
    keys_max_budget: Decimal = Field(
        Decimal(0), ge=0, le=1_000_000_000, description="Largest per-key budget amount; 0 = any."
    )
    keys_max_budget_currency: str = Field(
        "USD", pattern=r"^[A-Z]{3}$", description="The currency of HEADWATER_KEYS_MAX_BUDGET."
    )
    keys_max_rotation_grace: str = Field(
        "24h", description="The longest grace a rotated key's old secret may get (10m, 24h)."
    )

    # upstream credentials
    credential_env_prefix: str = Field(
        "HEADWATER_UPSTREAM_",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
        description="Deployments may read upstream credentials only from variables with this prefix.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key of stored credentials: base64 of 32 bytes (headwater secrets generate-key). "
        "Needed to store credentials; never logged.",
    )
    secret_key_file: Path | None = Field(
        None, description="A file holding HEADWATER_SECRET_KEY's value instead (not both)."
    )
    oidc_link_verified_email: bool = Field(
        False,
        description="Link a first sign-in to a declared user with the same email when the token says "
        "email_verified.",
    )

    # server
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    graceful_shutdown_s: float = Field(30.0, gt=0, description="Time to drain in-flight requests.")
    cors_origins: CommaList = Field(
        (), description="Origins (https://app.example.com) whose browser apps may call the APIs (CORS)."
    )

    # gateway
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest request body accepted.")
    admin_max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest admin API request body (apply included)."
    )
    max_response_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Largest non-streamed upstream response (502 beyond it)."
    )
    max_stream_event_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest single server-sent event from an upstream stream."
    )
    upstream_deadline_s: float = Field(
        900.0, gt=0, le=86_400, description="Default total time a call may take (a deployment's deadline)."
    )
    header_timeout_s: float = Field(
        10.0, gt=0, le=3600, description="Time a client has to send a request's headers."
    )
    body_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="Time a client has between two parts of a request body."
    )
    upstream_connect_timeout_s: float = Field(5.0, gt=0)
    upstream_timeout_s: float = Field(
        300.0, gt=0, description="Default upstream timeout (until the response starts and between chunks)."
    )
    upstream_pool_size: int = Field(1000, ge=1)
    upstream_client: Literal["auto", "aiohttp"] = Field(
        "auto",
        description="auto: Headwater's own HTTP/1.1 client for http:// upstreams, aiohttp for https://; "
        "aiohttp: aiohttp for every upstream.",
    )
    snapshot_poll_interval_s: float = Field(
        0.25, gt=0, le=60.0, description="Change detection period (a safety net when Redis notifies)."
    )

    # limits
    redis_url: str = Field(
        "", description="redis://HOST:PORT/DB: shared limits and change notification across processes."
    )
    redis_prefix: str = Field("hw:", max_length=64, description="Prefix of every Redis key Headwater writes.")
    limits_fail: Literal["open", "closed"] = Field(
        "closed", description="When Redis is unreachable: open = local limits, closed = 503."
    )
    default_max_tokens: int = Field(
        1024, ge=1, description="Output tokens reserved for a call that gives no max_tokens."
    )

    # usage accounting
    usage_flush_interval_s: float = Field(0.5, gt=0, le=1.0)
    usage_batch_size: int = Field(100, ge=1)
    usage_buffer_limit: int = Field(
        20_000,
        ge=1000,
        description="Events kept in memory while the DB is down or behind; then in the journal.",
    )
    usage_journal_dir: Path | None = Field(
        None,
        description="Where usage events are journaled until the database has them (default: "
        "<data_dir>/journal); a subdirectory per database.",
    )
    usage_retention_days: int = Field(
        90, ge=1, le=36_500, description="Days usage and limit events are kept (pruned by whole hours)."
    )
    rollup_retention_days: int = Field(
        730, ge=1, le=36_500, description="Days the hourly, daily and monthly usage rollups are kept."
    )
    response_store_days: int = Field(
        30,
        ge=0,
        le=36_500,
        description="Days a Responses API response created with store=true is kept for its owner; 0 = never.",
    )

    # metrics
    metrics_principal_labels: bool = Field(
        False, description="Label request, token and cost metrics with the principal and key id too."
    )

    # traces (OpenTelemetry, optional)
    otel_endpoint: str = Field(
        "", description="OTLP/HTTP collector (http://collector:4318): a span per gateway call; empty = off."
    )
    otel_service_name: str = Field(
        "headwater", min_length=1, max_length=256, description="The service.name of Headwater's spans."
    )

    # runtime metrics of model servers
    runtime_scrape_interval_s: float = Field(
        15.0,
        ge=0,
        le=3600,
        description="How often each deployment's server /metrics (vLLM) is read; 0 = never.",
    )

    # logging
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False

    @field_validator("admin_token", "oidc_client_secret", "secret_key", "secret_key_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator(
        "oidc_admin_groups",
        "oidc_auditor_groups",
        "trusted_headers",
        "trusted_proxies",
        "cors_origins",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR such as 10.0.0.0/8") from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(exact_origin(origin) for origin in value)
        except ValueError as exc:
            raise ValueError(f"HEADWATER_CORS_ORIGINS: {exc}") from None

    @field_validator("keys_default_expiry", "keys_max_expiry", "keys_max_rotation_grace")
    @classmethod
    def _duration(cls, value: str) -> str:
        if value:
            parse_duration(value)
        return value

    @field_validator("oidc_issuer", "public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return value

    @field_validator("otel_endpoint")
    @classmethod
    def _collector_url(cls, value: str) -> str:
        if value and not _web_url(value):
            raise ValueError("HEADWATER_OTEL_ENDPOINT: use http(s)://HOST[:PORT], e.g. http://collector:4318")
        return value

    @field_validator("dashboard_url")
    @classmethod
    def _dashboard_url(cls, value: str) -> str:
        if value and not _web_url(value.replace("{key_id}", "key")):
            raise ValueError(
                "HEADWATER_DASHBOARD_URL: use http(s)://HOST[:PORT]/PATH, e.g. "
                "https://grafana.example.com/d/headwater?var-key={key_id} ({key_id} is the only placeholder)"
            )
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'headwater.db'}"

    @property
    def resolved_usage_journal_dir(self) -> Path:
        return self.usage_journal_dir or self.data_dir / "journal"

    @model_validator(mode="after")
    def _shared_limits(self) -> Settings:
        if self.workers > 1 and not self.redis_url:
            raise ValueError(
                "--workers above 1 needs HEADWATER_REDIS_URL: limits kept in one worker's memory "
                "would multiply with the workers"
            )
        return self

    @model_validator(mode="after")
    def _identity(self) -> Settings:
        if self.trusted_headers and not self.trusted_proxies:
            raise ValueError("HEADWATER_TRUSTED_HEADERS needs HEADWATER_TRUSTED_PROXIES (source CIDRs)")
        if len(self.trusted_headers) > 2:
            raise ValueError("HEADWATER_TRUSTED_HEADERS names a user header and, optionally, a groups header")
        if self.oidc_client_id and not self.oidc_issuer:
            raise ValueError("HEADWATER_OIDC_CLIENT_ID needs HEADWATER_OIDC_ISSUER")
        if self.oidc_issuer and not (self.oidc_audience or self.oidc_client_id):
            raise ValueError(
                "HEADWATER_OIDC_ISSUER needs HEADWATER_OIDC_AUDIENCE or HEADWATER_OIDC_CLIENT_ID"
            )
        if (
            self.keys_default_expiry
            and self.keys_max_expiry
            and parse_duration(self.keys_default_expiry) > parse_duration(self.keys_max_expiry)
        ):
            raise ValueError("HEADWATER_KEYS_DEFAULT_EXPIRY is longer than HEADWATER_KEYS_MAX_EXPIRY")
        return self

    @model_validator(mode="after")
    def _secret_key(self) -> Settings:
        """A key that is not base64 of 32 bytes (or a file that cannot be read) stops the start."""
        self.secret_box()
        return self

    def secret_box(self) -> SecretBox | None:
        """The box of stored credentials' key (:mod:`headwater.catalog.secret_box`), or None."""
        key = self.secret_key.get_secret_value() if self.secret_key else None
        return secret_box.load(key, self.secret_key_file)

    @model_validator(mode="after")
    def _retention(self) -> Settings:
        if self.rollup_retention_days < self.usage_retention_days:
            raise ValueError(
                "HEADWATER_ROLLUP_RETENTION_DAYS is shorter than HEADWATER_USAGE_RETENTION_DAYS: the "
                "rollups of events still kept would be deleted"
            )
        return self

    @property
    def audience(self) -> str:
        return self.oidc_audience or self.oidc_client_id

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_ENV)
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)


def _web_url(value: str) -> bool:
    """Whether ``value`` is an http(s) URL with a host (and a valid port, if any), nothing odd in it."""
    if any(char in value for char in '{}<>"\\ ') or not value.isprintable():
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (a bad port raises)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Read and validate settings; ``overrides`` (command-line options) win over everything.

    ``config_file`` is remembered in the environment so that worker processes started later read
    the same file.
    """
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        os.environ[CONFIG_ENV] = str(path.resolve())
    return Settings(**{name: value for name, value in overrides.items() if value is not None})
