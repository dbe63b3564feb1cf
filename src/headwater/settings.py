"""Settings: ``HEADWATER_*`` environment variables, optionally a YAML file.

Precedence, highest first: explicit keyword arguments, environment, the YAML file named by
``--config`` (exported to worker processes as ``HEADWATER_CONFIG``), defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

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

    # server
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    graceful_shutdown_s: float = Field(30.0, gt=0, description="Time to drain in-flight requests.")

    # gateway
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest request body accepted.")
    upstream_connect_timeout_s: float = Field(5.0, gt=0)
    upstream_timeout_s: float = Field(
        300.0, gt=0, description="Default upstream timeout (until the response starts and between chunks)."
    )
    upstream_pool_size: int = Field(1000, ge=1)
    snapshot_poll_interval_s: float = Field(0.25, gt=0, le=1.0, description="Change detection period.")

    # limits
    redis_url: str = Field(
        "", description="redis://HOST:PORT/DB: shared limits for several workers or replicas."
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
        200_000, ge=1000, description="Events kept in memory while the DB is down."
    )

    # logging
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False

    @field_validator("admin_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'headwater.db'}"

    @model_validator(mode="after")
    def _shared_limits(self) -> Settings:
        if self.workers > 1 and not self.redis_url:
            raise ValueError(
                "--workers above 1 needs HEADWATER_REDIS_URL: limits kept in one worker's memory "
                "would multiply with the workers"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

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
