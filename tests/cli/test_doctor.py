"""``headwater doctor``: a healthy install passes; each broken part is an error row saying how to fix
it, with exit status 1; no secret is ever printed."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.oidc_provider import OidcProvider, oidc_env
from tests.support import (
    Server,
    Sim,
    cli,
    free_port,
    model_doc,
    postgres_database,
    redis_env,
    start_server,
    stop,
)

KEY_ENV = "HEADWATER_UPSTREAM_DOCTOR_KEY"
ENV_VALUE = "sk-env-" + secrets.token_hex(12)
STORED_VALUE = "sk-stored-" + secrets.token_hex(12)


def _key() -> str:
    return cli("secrets", "generate-key").stdout.strip()


@dataclass
class Install:
    server: Server
    env: dict[str, str]  # what doctor runs with when everything is right

    @property
    def secrets(self) -> list[str]:
        return [self.server.token, ENV_VALUE, STORED_VALUE, self.env["HEADWATER_SECRET_KEY"]]


@pytest.fixture(scope="module")
def install(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    directory = tmp_path_factory.mktemp("doctor")
    key = _key()
    url = f"sqlite+aiosqlite:///{directory / 'headwater.db'}"
    server = start_server(url, extra_env={"HEADWATER_SECRET_KEY": key})
    try:
        with server.admin() as admin:
            admin.put("/credentials/doctor-cred", json={"value": STORED_VALUE}).raise_for_status()
            sim_host = sim.url.removesuffix("/v1")
            documents = [
                model_doc("env-model", sim.url, upstream="sim-chat", deployment={"credential_env": KEY_ENV}),
                model_doc(
                    "stored-model", sim.url, upstream="sim-chat", deployment={"credential": "doctor-cred"}
                ),
                model_doc(
                    "claude",
                    f"{sim_host}/v1",
                    upstream="claude-x",
                    deployment={"provider": "anthropic", "credential_env": KEY_ENV},
                ),
            ]
            admin.post("/apply", json={"documents": documents}).raise_for_status()
        env = {
            "HEADWATER_DATABASE_URL": url,
            "HEADWATER_ADMIN_TOKEN": server.token,
            "HEADWATER_SECRET_KEY": key,
            "HEADWATER_USAGE_JOURNAL_DIR": str(directory / "journal"),
            KEY_ENV: ENV_VALUE,
            **redis_env(),
        }
        yield Install(server, env)
    finally:
        stop(server.process)


def doctor(
    env: dict[str, str], *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]]]:
    """Run ``headwater doctor --json``; the result and its rows by check name."""
    result = cli("doctor", "--json", "--timeout", "3", *args, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] == (result.returncode == 0)
    return result, {row["check"]: row for row in report["checks"]}


def assert_secret_free(result: subprocess.CompletedProcess[str], *values: str) -> None:
    for value in values:
        assert value not in result.stdout + result.stderr


def test_a_healthy_install_passes_every_check(install: Install) -> None:
    result, rows = doctor(install.env)
    assert result.returncode == 0, result.stdout
    expected = [
        "settings",
        "database",
        "redis",
        "oidc",
        "usage journal",
        "stored credentials",
        "model claude #1",
        "model env-model #1",
        "model stored-model #1",
    ]
    assert list(rows) == expected
    assert {row["status"] for row in rows.values()} == {"ok"}, rows
    assert "at the migration head" in rows["database"]["detail"]
    assert "answers PING" in rows["redis"]["detail"]
    assert "listing sim-chat" in rows["model env-model #1"]["detail"]
    assert "stored credential doctor-cred opens" in rows["model stored-model #1"]["detail"]
    assert "TCP connection" in rows["model claude #1"]["detail"]
    assert_secret_free(result, *install.secrets)

    table = cli("doctor", env=install.env)  # the table people read
    assert table.returncode == 0, table.stdout + table.stderr
    assert "stored credentials" in table.stdout and "error" not in table.stdout
    assert_secret_free(table, *install.secrets)


def test_a_settings_error_is_a_row_not_a_traceback(install: Install) -> None:
    env = {**install.env, "HEADWATER_REDIS_URL": "", "HEADWATER_WORKERS": "2"}
    result, rows = doctor(env)
    assert result.returncode == 1
    assert list(rows) == ["settings"]
    assert rows["settings"]["status"] == "error"
    assert "HEADWATER_REDIS_URL" in rows["settings"]["detail"]

    bad_key = "not-a-key-" + secrets.token_hex(6)
    result, rows = doctor({**install.env, "HEADWATER_SECRET_KEY": bad_key})
    assert result.returncode == 1 and rows["settings"]["status"] == "error"
    assert "secrets generate-key" in rows["settings"]["detail"]
    assert_secret_free(result, bad_key, *install.secrets)


def test_an_unreachable_database(install: Install) -> None:
    password = "db-pw-" + secrets.token_hex(6)
    url = f"postgresql+asyncpg://doctor:{password}@127.0.0.1:{free_port()}/nowhere"
    result, rows = doctor({**install.env, "HEADWATER_DATABASE_URL": url})
    assert result.returncode == 1
    assert rows["database"]["status"] == "error"
    assert "cannot connect" in rows["database"]["detail"]
    assert "HEADWATER_DATABASE_URL" in rows["database"]["fix"]
    assert rows["models"]["status"] == "warning"  # not read, and said so
    assert_secret_free(result, password, *install.secrets)


def test_a_database_behind_the_migration_head(install: Install, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    migrated = cli("migrate", "--revision", "0001", env={"HEADWATER_DATABASE_URL": url})
    assert migrated.returncode == 0, migrated.stderr
    result, rows = doctor({**install.env, "HEADWATER_DATABASE_URL": url})
    assert result.returncode == 1
    assert "at revision 0001, behind the head" in rows["database"]["detail"]
    assert "headwater migrate" in rows["database"]["fix"]


@pytest.mark.postgres
def test_an_empty_database_needs_migrating(install: Install) -> None:
    with postgres_database() as url:
        result, rows = doctor({**install.env, "HEADWATER_DATABASE_URL": url})
    assert result.returncode == 1
    assert "no migration has been applied" in rows["database"]["detail"]
    assert "headwater migrate" in rows["database"]["fix"]


def test_redis_down(install: Install) -> None:
    password = "redis-pw-" + secrets.token_hex(6)
    env = {**install.env, "HEADWATER_REDIS_URL": f"redis://:{password}@127.0.0.1:{free_port()}/0"}
    result, rows = doctor(env)
    assert result.returncode == 1
    assert rows["redis"]["status"] == "error"
    assert "HEADWATER_REDIS_URL" in rows["redis"]["fix"]
    assert rows["database"]["status"] == "ok"  # the other checks still ran
    assert_secret_free(result, password, *install.secrets)


def test_oidc_issuer_unreachable(install: Install) -> None:
    issuer = f"http://127.0.0.1:{free_port()}"
    env = {**install.env, "HEADWATER_OIDC_ISSUER": issuer, "HEADWATER_OIDC_AUDIENCE": "headwater"}
    result, rows = doctor(env)
    assert result.returncode == 1
    assert rows["oidc"]["status"] == "error"
    assert "unreachable" in rows["oidc"]["detail"]
    assert f"curl {issuer}/.well-known/openid-configuration" in rows["oidc"]["fix"]


def test_oidc_issuer_that_answers(install: Install, oidc: OidcProvider) -> None:
    env = {**install.env, **oidc_env(oidc)}
    result, rows = doctor(env)
    assert rows["oidc"]["status"] == "ok", rows["oidc"]
    assert "sign-in endpoints present" in rows["oidc"]["detail"]
    assert result.returncode == 0
    assert_secret_free(result, oidc.client_secret, *install.secrets)

    wrong = {**env, "HEADWATER_OIDC_ISSUER": f"{oidc.issuer}/other"}
    result, rows = doctor(wrong)
    assert result.returncode == 1 and rows["oidc"]["status"] == "error"


def test_deployments_on_dead_ports(install: Install) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    documents = [
        model_doc("dead-openai", dead),
        model_doc("dead-claude", dead, deployment={"provider": "anthropic", "credential_env": KEY_ENV}),
    ]
    with install.server.admin() as admin:
        admin.post("/apply", json={"documents": documents}).raise_for_status()
        try:
            result, rows = doctor(install.env)
        finally:
            for name in ("dead-openai", "dead-claude"):
                admin.delete(f"/models/{name}").raise_for_status()
    assert result.returncode == 1
    for name in ("model dead-openai #1", "model dead-claude #1"):
        assert rows[name]["status"] == "error", rows[name]
        assert "connection refused" in rows[name]["detail"]
        assert "check base_url" in rows[name]["fix"]
    assert rows["model env-model #1"]["status"] == "ok"


def test_a_missing_credential_variable(install: Install) -> None:
    env = {name: value for name, value in install.env.items() if name != KEY_ENV}
    result, rows = doctor(env)
    assert result.returncode == 1
    for name in ("model env-model #1", "model claude #1"):
        assert rows[name]["status"] == "error"
        assert f"credential {KEY_ENV} is not set" in rows[name]["detail"]
        assert f"set {KEY_ENV}" in rows[name]["fix"]
    assert rows["model stored-model #1"]["status"] == "ok"


def test_an_unwritable_journal_directory(install: Install, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result, rows = doctor({**install.env, "HEADWATER_USAGE_JOURNAL_DIR": str(blocker / "journal")})
    assert result.returncode == 1
    assert rows["usage journal"]["status"] == "error"
    assert "is not a directory" in rows["usage journal"]["detail"]
    assert "HEADWATER_USAGE_JOURNAL_DIR" in rows["usage journal"]["fix"]


def test_a_wrong_secret_key(install: Install) -> None:
    other = _key()
    result, rows = doctor({**install.env, "HEADWATER_SECRET_KEY": other})
    assert result.returncode == 1
    assert rows["stored credentials"]["status"] == "error"
    assert "doctor-cred is sealed under key" in rows["stored credentials"]["detail"]
    assert "HEADWATER_SECRET_KEY" in rows["stored credentials"]["fix"]
    assert "does not open" in rows["model stored-model #1"]["detail"]
    assert_secret_free(result, other, *install.secrets)

    without = {name: value for name, value in install.env.items() if name != "HEADWATER_SECRET_KEY"}
    result, rows = doctor(without)
    assert result.returncode == 1
    assert "no secret key is configured" in rows["stored credentials"]["detail"]
