"""Settings: environment, YAML file, precedence and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from headwater.settings import CONFIG_ENV, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("HEADWATER_"):
            monkeypatch.delenv(name)
    # load_settings() puts the config file's path in the environment (for worker processes): set it
    # through monkeypatch first, so that whatever a test leaves there is removed afterwards and never
    # reaches the `headwater` processes later tests start in this worker
    monkeypatch.setenv(CONFIG_ENV, "")
    monkeypatch.delenv(CONFIG_ENV)


def test_defaults_use_sqlite_under_the_data_dir() -> None:
    settings = Settings()
    assert settings.resolved_database_url == "sqlite+aiosqlite:///.headwater/headwater.db"
    assert settings.auto_migrate and settings.admin_token is None


def test_yaml_file_and_environment_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "headwater.yaml"
    config.write_text("port: 9000\nworkers: 3\nlog_format: json\nredis_url: redis://127.0.0.1:6379/0\n")
    monkeypatch.setenv("HEADWATER_WORKERS", "2")
    settings = load_settings(config)
    assert (settings.port, settings.workers, settings.log_format) == (9000, 2, "json")
    assert load_settings(config, workers=4, port=None).workers == 4  # command-line options win
    monkeypatch.delenv(CONFIG_ENV)


def test_several_workers_need_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="HEADWATER_REDIS_URL"):
        load_settings(workers=2)
    monkeypatch.setenv("HEADWATER_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert load_settings(workers=2).workers == 2


def test_unknown_yaml_key_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("prot: 9000\n")
    with pytest.raises(ValidationError, match="prot"):
        load_settings(config)
    monkeypatch.delenv(CONFIG_ENV)
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "missing.yaml")


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_DATABASE_URL", "mysql://x")
    with pytest.raises(ValidationError, match="postgresql"):
        Settings()
    monkeypatch.setenv("HEADWATER_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("HEADWATER_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError):
        Settings()


def test_empty_admin_token_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_ADMIN_TOKEN", "")
    assert Settings().admin_token is None
    monkeypatch.setenv("HEADWATER_ADMIN_TOKEN", "s3cret")
    token = Settings().admin_token
    assert token is not None and token.get_secret_value() == "s3cret" and "s3cret" not in repr(Settings())
