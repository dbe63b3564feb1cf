"""docs/operations.md's backup and restore, end to end on PostgreSQL: `pg_dump -Fc` of a live install,
the database dropped, created again, `pg_restore`d, and a server started on it: every key still
works, the usage totals match, `headwater audit verify` passes with the same head."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import asyncpg
import pytest

from tests.operations.install import audit_head, audit_verified, chat, populate, secret_env, usage_totals
from tests.support import PG_ADMIN_URL, Sim, postgres_database, start_server, stop

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PG_BIN = Path("/usr/bin")


def libpq(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


def admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command[0]}: {done.stderr}"


def test_dump_drop_restore_and_everything_still_works(sim: Sim, tmp_path: Path) -> None:
    dump = tmp_path / "headwater.dump"
    with postgres_database() as url:
        name = url.rsplit("/", 1)[1]
        server = start_server(url, extra_env=secret_env())
        try:
            install = populate(server, sim)
            usage, head, verified = usage_totals(server), audit_head(server), audit_verified(server)
            run(str(PG_BIN / "pg_dump"), "--format=custom", f"--file={dump}", libpq(url))  # while it serves
        finally:
            stop(server.process)
        assert head["seq"] > 0 and usage["ids"]

        admin(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin(f'CREATE DATABASE "{name}"')
        run(str(PG_BIN / "pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={libpq(url)}", str(dump))

        server = start_server(url, extra_env={"HEADWATER_SECRET_KEY": install.secret_key})
        try:
            assert usage_totals(server) == usage
            assert audit_head(server) == head
            assert audit_verified(server) == verified
            for model, key in install.keys.items():
                answered = chat(server, key, model)
                assert answered.status_code == 200, (model, answered.text)
            with server.admin() as admin_api:  # sequences were restored too: new rows do not collide
                assert admin_api.post("/keys", json={"name": "after-restore"}).status_code == 201
            audit_verified(server)
        finally:
            stop(server.process)
