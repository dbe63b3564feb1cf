"""HEADWATER_CORS_ORIGINS: exact origins, as browsers send them, or a clear error at start."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from headwater.settings import CONFIG_ENV, Settings, load_settings
from tests.support import cli


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HEADWATER_"):
            monkeypatch.delenv(name)
    # load_settings() puts the config file's path in the environment (for worker processes): set it
    # through monkeypatch first, so that whatever a test leaves there is removed afterwards and never
    # reaches the `headwater` processes later tests start in this worker
    monkeypatch.setenv(CONFIG_ENV, "")
    monkeypatch.delenv(CONFIG_ENV)


def test_unset_means_no_origin() -> None:
    assert Settings().cors_origins == ()


def test_a_comma_separated_list_with_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_CORS_ORIGINS", " https://app.example.com , http://localhost:5173,,")
    assert Settings().cors_origins == ("https://app.example.com", "http://localhost:5173")
    monkeypatch.setenv("HEADWATER_CORS_ORIGINS", "")
    assert Settings().cors_origins == ()


def test_a_list_in_the_yaml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "headwater.yaml"
    config.write_text("cors_origins:\n  - https://app.example.com\n  - http://[::1]:8080\n")
    assert load_settings(config).cors_origins == ("https://app.example.com", "http://[::1]:8080")
    monkeypatch.delenv(CONFIG_ENV)


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com",
        "http://localhost:5173",
        "https://app.example.com:8443",
        "http://127.0.0.1:3000",
        "http://[::1]:8080",
        "https://xn--bcher-kva.example",
        "http://my_host.internal",
    ],
)
def test_exact_origins_are_accepted(monkeypatch: pytest.MonkeyPatch, origin: str) -> None:
    monkeypatch.setenv("HEADWATER_CORS_ORIGINS", origin)
    assert Settings().cors_origins == (origin,)


@pytest.mark.parametrize(
    ("origin", "says"),
    [
        ("*", "wildcards are not accepted"),
        ("https://*.example.com", "wildcards are not accepted"),
        ("null", "sandboxed pages"),
        ("app.example.com", "http:// or https://"),
        ("ftp://files.example.com", "http:// or https://"),
        ("https://app.example.com/", "write 'https://app.example.com'"),
        ("https://APP.example.com", "write 'https://app.example.com'"),
        ("HTTPS://app.example.com", "write 'https://app.example.com'"),
        ("https://app.example.com:443", "write 'https://app.example.com'"),
        ("http://localhost:80", "write 'http://localhost'"),
        ("http://[0:0::1]:8080", "write 'http://[::1]:8080'"),
        ("https://app.example.com/ui", "no path"),
        ("https://app.example.com?x=1", "no path"),
        ("https://app.example.com#top", "no path"),
        ("https://user@app.example.com", "no path, query or user"),
        ("https://app.example.com:99999", "not an origin"),
        ("https://app.example.com:port", "not an origin"),
        ("http://[::1", "not an origin"),
        ("https://bücher.example", "punycode"),
        ("https://", "DNS name"),
        ("https://a..b", "DNS name"),
    ],
)
def test_anything_else_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, origin: str, says: str
) -> None:
    monkeypatch.setenv("HEADWATER_CORS_ORIGINS", f"https://ok.example.com,{origin}")
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    assert "HEADWATER_CORS_ORIGINS" in message
    assert says in message


def test_serve_refuses_to_start_with_a_bad_origin(tmp_path: Path) -> None:
    result = cli(
        "serve",
        "--port",
        "1",
        env={
            "HEADWATER_CORS_ORIGINS": "https://app.example.com/",
            "HEADWATER_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode != 0
    assert "HEADWATER_CORS_ORIGINS" in result.stderr + result.stdout
    assert "write 'https://app.example.com'" in result.stderr + result.stdout
    assert not (tmp_path / "headwater.db").exists()  # refused before anything was prepared
