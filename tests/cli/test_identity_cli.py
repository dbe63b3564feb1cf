"""The CLI for identity and trust: whoami, the key lifecycle, bulk revoke, and the audit trail.

`headwater audit verify` downloads the chain and checks every hash itself; changing one row in the
database (as someone with database access might) is found and named.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support import Server, cli

pytestmark = pytest.mark.e2e


def run(server: Server, *args: str) -> Any:
    done = cli(*args, "--json", env=server.cli_env())
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def sql(server: Server, statement: str, **params: Any) -> None:
    async def go() -> None:
        engine = create_async_engine(server.database_url)
        async with engine.begin() as conn:
            await conn.execute(text(statement), params)
        await engine.dispose()

    asyncio.run(go())


def test_whoami(server: Server) -> None:
    me = run(server, "whoami")
    assert me["actor"] == "admin:bootstrap" and me["role"] == "admin"
    nobody = cli("whoami", env={**server.cli_env(), "HEADWATER_TOKEN": "wrong"})
    assert nobody.returncode == 1 and "not authorised" in nobody.stderr


def test_key_lifecycle_and_bulk_revoke(server: Server) -> None:
    with server.admin() as admin:
        admin.post("/users", json={"name": "lee"}).raise_for_status()
    first = run(server, "keys", "create", "--name", "a", "--owner", "user:lee")
    second = run(server, "keys", "create", "--name", "b", "--owner", "user:lee")
    assert run(server, "keys", "disable", first["id"])["status"] == "disabled"
    assert run(server, "keys", "enable", first["id"])["status"] == "active"
    rotated = run(server, "keys", "rotate", first["id"], "--grace", "10m")
    assert rotated["id"] == first["id"] and rotated["key"] not in (first["key"], second["key"])

    dry = run(server, "keys", "revoke", "--user", "lee", "--dry-run")
    assert dry["dry_run"] is True and {k["id"] for k in dry["keys"]} == {first["id"], second["id"]}
    assert run(server, "keys", "show", first["id"])["status"] == "active"
    table = cli("keys", "revoke", "--user", "lee", "--dry-run", env=server.cli_env())
    assert "would revoke 2 key(s)" in table.stdout

    done = run(server, "keys", "revoke", "--user", "lee")
    assert done["count"] == 2 and {k["status"] for k in done["keys"]} == {"revoked"}
    both = cli("keys", "revoke", first["id"], "--user", "lee", env=server.cli_env())
    assert both.returncode == 1 and "exactly one of" in both.stderr

    events = run(server, "audit", "list", "--target", first["id"], "--limit", "50")["items"]
    assert [e["action"] for e in reversed(events)] == [
        "key.create",
        "key.disable",
        "key.enable",
        "key.rotate",
        "key.revoke",
    ]
    assert {e["actor"] for e in events} == {"admin:bootstrap"}


def test_audit_verify_finds_a_changed_row(server: Server) -> None:
    made = run(server, "keys", "create", "--name", "evidence")
    run(server, "keys", "revoke", made["id"])
    intact = cli("audit", "verify", env=server.cli_env())
    assert intact.returncode == 0 and "audit chain intact" in intact.stdout, intact.stdout + intact.stderr

    events = run(server, "audit", "list", "--target", made["id"])["items"]
    revoked = next(e for e in events if e["action"] == "key.revoke")
    # someone with database access rewrites history: the revoke was "by" somebody else
    sql(server, "UPDATE audit_events SET actor = 'user:mallory' WHERE seq = :seq", seq=revoked["seq"])
    try:
        broken = cli("audit", "verify", env=server.cli_env())
        assert broken.returncode == 1
        assert f"audit chain broken at event {revoked['seq']}" in broken.stdout
        with server.admin() as admin:
            verdict = admin.get("/audit/verify").json()
        assert verdict["ok"] is False and verdict["first_broken_seq"] == revoked["seq"]
    finally:
        sql(server, "UPDATE audit_events SET actor = :actor WHERE seq = :seq", **revoked_actor(revoked))
    assert cli("audit", "verify", env=server.cli_env()).returncode == 0


def revoked_actor(event: dict[str, Any]) -> dict[str, Any]:
    return {"actor": event["actor"], "seq": event["seq"]}


@pytest.mark.parametrize(
    ("column", "forged"),
    [("detail", "old secret invalid at once"), ("source_ip", "10.6.6.6"), ("request_id", "forged-id")],
)
def test_audit_verify_finds_each_hashed_field_changed(server: Server, column: str, forged: str) -> None:
    """Every field the hash covers is covered: rewriting the detail, the source address or the
    request id of one event is found and that event named."""
    made = run(server, "keys", "create", "--name", f"tamper-{column}")
    run(server, "keys", "rotate", made["id"], "--grace", "10m")
    events = run(server, "audit", "list", "--target", made["id"])["items"]
    rotated = next(e for e in events if e["action"] == "key.rotate")
    assert rotated[column] not in (None, forged)  # there is something to forge
    update = f"UPDATE audit_events SET {column} = :value WHERE seq = :seq"  # noqa: S608 (a fixed column)
    sql(server, update, value=forged, seq=rotated["seq"])
    try:
        broken = cli("audit", "verify", env=server.cli_env())
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert f"audit chain broken at event {rotated['seq']}" in broken.stdout
        with server.admin() as admin:
            verdict = admin.get("/audit/verify").json()
        assert verdict["ok"] is False and verdict["first_broken_seq"] == rotated["seq"]
    finally:
        sql(server, update, value=rotated[column], seq=rotated["seq"])
    assert cli("audit", "verify", env=server.cli_env()).returncode == 0


def test_audit_list_filters_and_csv(server: Server, tmp_path: Any) -> None:
    made = run(server, "keys", "create", "--name", "csv")
    only = run(server, "audit", "list", "--action", "key.create", "--target", made["id"])["items"]
    assert len(only) == 1 and only[0]["actor"] == "admin:bootstrap"
    out = tmp_path / "audit.csv"
    done = cli("audit", "list", "--action", "key.", "--csv", str(out), env=server.cli_env())
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("seq,ts,actor,action") and any(made["id"] in line for line in lines[1:])
