"""`headwater db copy --to postgresql+asyncpg://...`: a SQLite install moved to PostgreSQL whole.

The copy is checked from the outside: a server started on the target serves every key, reports the
same usage, and `headwater audit verify` passes with the same head. A target holding data is
refused (and left as it was) unless --force; a bad URL is a clear error, never a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from headwater.storage.sql.copy import Report, verify
from headwater.storage.sql.database import create_engine
from tests.operations.install import (
    Install,
    audit_head,
    audit_verified,
    chat,
    populate,
    secret_env,
    usage_totals,
)
from tests.support import Sim, cli, postgres_database, start_server, stop

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

#: The stopped SQLite install: its URL, what it holds, and what its server reported.
Copied = tuple[str, Install, dict[str, Any]]


@pytest.fixture(scope="module")
def sqlite_install(tmp_path_factory: pytest.TempPathFactory, sim: Sim) -> Iterator[Copied]:
    """A stopped SQLite install: its URL, what it holds, and what its server reported."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'headwater.db'}"
    server = start_server(url, extra_env=secret_env())
    try:
        install = populate(server, sim)
        seen = {"usage": usage_totals(server), "head": audit_head(server), "verify": audit_verified(server)}
    finally:
        stop(server.process)
    yield url, install, seen


def copy(source: str, *args: str) -> tuple[int, str]:
    done = cli("db", "copy", *args, env={"HEADWATER_DATABASE_URL": source})
    return done.returncode, done.stdout + done.stderr


def test_a_sqlite_install_moves_to_postgresql_whole(sqlite_install: Copied) -> None:
    source, install, seen = sqlite_install
    with postgres_database() as target:
        code, out = copy(source, "--to", target)
        assert code == 0, out
        assert "copied and verified" in out and "audit chain intact on the target" in out
        assert "api_keys" in out and "usage_events" in out
        assert "same HEADWATER_SECRET_KEY" in out  # the stored credential is still sealed
        assert install.secret_key not in out
        server = start_server(target, extra_env={"HEADWATER_SECRET_KEY": install.secret_key})
        try:
            assert usage_totals(server) == seen["usage"]
            assert sum(seen["usage"]["cost"].values()) > 0
            assert audit_head(server) == seen["head"]
            assert audit_verified(server) == seen["verify"]
            for model, key in install.keys.items():  # "sealed" goes through the stored credential
                answered = chat(server, key, model)
                assert answered.status_code == 200, (model, answered.text)
            with server.admin() as admin:  # the copied sequences go on after the copied ids
                made = admin.post("/keys", json={"name": "after-the-move"})
                assert made.status_code == 201, made.text
            audit_verified(server)
        finally:
            stop(server.process)


def test_a_target_holding_data_is_refused_unless_forced(sqlite_install: Copied) -> None:
    source, _, seen = sqlite_install
    with postgres_database() as target:
        server = start_server(target)  # a server's first start writes its audit events
        try:
            with server.admin() as admin:
                assert admin.post("/keys", json={"name": "already-here"}).status_code == 201
            before = audit_head(server)
        finally:
            stop(server.process)
        code, out = copy(source, "--to", target)
        assert code == 1, out
        assert "already holds data" in out and "api_keys: 1 rows" in out and "--force" in out
        assert "Traceback" not in out
        server = start_server(target)
        try:
            assert audit_head(server) == before  # left as it was
            with server.admin() as admin:
                assert [k["name"] for k in admin.get("/keys").json()["items"]] == ["already-here"]
        finally:
            stop(server.process)
        code, out = copy(source, "--to", target, "--force")
        assert code == 0, out
        server = start_server(target)
        try:
            assert audit_head(server) == seen["head"]
            with server.admin() as admin:
                names = {k["name"] for k in admin.get("/keys").json()["items"]}
            assert "already-here" not in names and {"ann-key", "service"} <= names
        finally:
            stop(server.process)


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("not a url", "--to is not a database URL"),
        ("mysql+aiomysql://root@127.0.0.1/hw", "must be PostgreSQL through asyncpg"),
        ("postgresql+asyncpg://postgres@127.0.0.1:5432", "--to names no database"),
        (
            "postgresql+asyncpg://postgres@127.0.0.1:5432/hw_no_such_database",
            'database "hw_no_such_database"',
        ),
        ("postgresql+asyncpg://postgres:pw-not-shown-71@127.0.0.1:1/hw", "cannot connect to the target"),
    ],
)
def test_a_bad_target_url_is_a_clear_error(sqlite_install: Copied, to: str, message: str) -> None:
    code, out = copy(sqlite_install[0], "--to", to)
    assert code == 1 and message in out, out
    assert out.startswith("error: ") and "Traceback" not in out and "pw-not-shown-71" not in out


def test_a_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    code, out = copy(
        f"sqlite+aiosqlite:///{tmp_path / 'none.db'}", "--to", "postgresql+asyncpg://postgres@127.0.0.1/x"
    )
    assert code == 1 and "no SQLite database at" in out, out
    assert not (tmp_path / "none.db").exists()


def test_the_verification_finds_a_target_that_differs(sqlite_install: Copied) -> None:
    """What `db copy` checks after copying catches rows lost and an audit event changed."""
    source = sqlite_install[0]

    async def problems(target: str) -> list[str]:
        engines = [create_engine(source), create_engine(target)]
        try:
            async with engines[0].connect() as before, engines[1].connect() as after:
                report = Report("head")
                await verify(before, after, report)
                return report.problems
        finally:
            for engine in engines:
                await engine.dispose()

    with postgres_database() as target:
        assert copy(source, "--to", target)[0] == 0
        assert asyncio.run(problems(target)) == []
        tamper = [
            "DELETE FROM usage_events WHERE id = (SELECT max(id) FROM usage_events)",
            "UPDATE audit_events SET detail = 'edited' WHERE seq = 2",
        ]
        asyncio.run(execute(target, tamper))
        found = asyncio.run(problems(target))
    assert any(line.startswith("usage_events: ") for line in found), found
    assert any(line.startswith("usage events: ") for line in found), found
    assert any("audit chain broken on the target at event 2" in line for line in found), found


async def execute(url: str, statements: list[str]) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()
