"""``headwater secrets`` (generate-key, rotate-key) and ``headwater credentials``, on SQLite and PostgreSQL.

The story of a rotation: a server on key A serves two stored credentials; ``rotate-key`` with the
wrong old key refuses and changes nothing; with A → B it re-encrypts both, while the running server
keeps serving the values it had opened; run again, it re-encrypts nothing; a server restarted on B
authenticates upstream; one restarted on A cannot open them: it starts, logs the credentials by
name, and the calls fail upstream (502 upstream_auth_failed), the value in no log.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from headwater.catalog.secret_box import generate_key, key_id, parse_key
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.tables import credentials
from tests.catalog.credential_upstream import Upstream
from tests.support import Server, cli, create_key, database, model_doc, output, start_server, stop, wait_for

pytestmark = pytest.mark.e2e

VALUE = "sk-" + "rotating-value-77c1f0"
OTHER = "sk-" + "second-upstream-a93e"


def chat(server: Server, key: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{server.v1}/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


def rows(database_url: str) -> dict[str, tuple[bytes, bytes, str, Any]]:
    async def read() -> dict[str, tuple[bytes, bytes, str, Any]]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                found = (await conn.execute(select(credentials))).mappings()
                return {
                    r["name"]: (bytes(r["ciphertext"]), bytes(r["nonce"]), r["key_id"], r["updated_at"])
                    for r in found
                }
        finally:
            await engine.dispose()

    return asyncio.run(read())


def rotate(database_url: str, old: str, new: str | None = None, *args: str) -> Any:
    env = {"HEADWATER_DATABASE_URL": database_url, "HEADWATER_SECRET_KEY": old}
    if new is not None:
        env["HEADWATER_NEW_SECRET_KEY"] = new
    return cli("secrets", "rotate-key", *args, env=env)


def test_generate_key_prints_a_fresh_32_byte_key() -> None:
    first, second = cli("secrets", "generate-key"), cli("secrets", "generate-key")
    assert first.returncode == 0, first.stderr
    assert len(base64.b64decode(first.stdout.strip())) == 32
    assert first.stdout != second.stdout


def test_rotate_key_then_restart_with_the_new_key(database_url: str, tmp_path: Path) -> None:
    key_a, key_b, key_c = generate_key(), generate_key(), generate_key()
    upstream, other = Upstream(VALUE), Upstream(OTHER)
    servers: list[Server] = []
    try:
        server = start_server(database_url, extra_env={"HEADWATER_SECRET_KEY": key_a})
        servers.append(server)
        with server.admin() as admin:
            assert admin.put("/credentials/rotating", json={"value": VALUE}).status_code == 201
            assert admin.put("/credentials/second", json={"value": OTHER}).status_code == 201
            for name, url, credential in (("rot", upstream.url, "rotating"), ("rot2", other.url, "second")):
                spec = model_doc(name, url, deployment={"credential": credential})["spec"]
                assert admin.put(f"/models/{name}", json=spec).status_code == 200
        key = create_key(server)["key"]
        assert chat(server, key, "rot").status_code == 200
        before = rows(database_url)
        assert {row[2] for row in before.values()} == {key_id(parse_key(key_a))}

        refused = rotate(database_url, key_c, key_b)  # not the key in use
        assert refused.returncode == 1
        assert "cannot open" in refused.stderr and "nothing was changed" in refused.stderr
        assert rows(database_url) == before
        missing = rotate(database_url, key_a)
        assert missing.returncode == 1 and "HEADWATER_NEW_SECRET_KEY" in missing.stderr
        same = rotate(database_url, key_a, key_a)
        assert same.returncode == 1 and "nothing to rotate" in same.stderr
        bad = rotate(database_url, key_a, "bm90IGEga2V5")
        assert bad.returncode == 1 and "HEADWATER_NEW_SECRET_KEY must be base64 of 32 bytes" in bad.stderr
        dry = rotate(database_url, key_a, key_b, "--dry-run")
        assert dry.returncode == 0 and "would re-encrypt 2 credentials" in dry.stdout, dry.stderr
        assert rows(database_url) == before

        new_key_file = tmp_path / "new.key"
        new_key_file.write_text(key_b + "\n")
        done = rotate(database_url, key_a, None, "--new-key-file", str(new_key_file))
        assert done.returncode == 0, done.stderr
        assert "re-encrypted 2 credentials" in done.stdout and "(0 already under it)" in done.stdout
        after = rows(database_url)
        for name, (ciphertext, nonce, sealed_by, updated_at) in after.items():
            assert sealed_by == key_id(parse_key(key_b)) and updated_at == before[name][3]
            assert ciphertext != before[name][0] and nonce != before[name][1]
        again = rotate(database_url, key_a, key_b)
        assert again.returncode == 0 and "re-encrypted 0 credentials" in again.stdout, again.stderr
        assert "(2 already under it)" in again.stdout
        assert rows(database_url) == after

        # The server still on A picks the change up and keeps serving the values it had opened.
        wait_for(lambda: "serving the value opened before" in output(server.process), timeout=10)
        assert chat(server, key, "rot").status_code == 200
        stop(server.process)

        restarted = start_server(database_url, extra_env={"HEADWATER_SECRET_KEY": key_b})
        servers.append(restarted)
        seen = len(upstream.seen), len(other.seen)
        assert chat(restarted, key, "rot").status_code == 200
        assert chat(restarted, key, "rot2").status_code == 200
        assert upstream.seen[seen[0] :] == [f"Bearer {VALUE}"] and other.seen[seen[1] :] == [
            f"Bearer {OTHER}"
        ]
        with restarted.admin() as admin:  # a new value is sealed under the new key
            assert admin.put("/credentials/third", json={"value": "sk-third-1"}).status_code == 201
        stop(restarted.process)

        stale = start_server(database_url, extra_env={"HEADWATER_SECRET_KEY": key_a})
        servers.append(stale)
        seen = len(upstream.seen), 0
        failed = chat(stale, key, "rot")
        assert failed.status_code == 502, failed.text
        assert failed.json()["error"]["code"] == "upstream_auth_failed"
        assert upstream.seen[seen[0] :] == [""]  # no credential sent at all
        with stale.admin() as admin:  # it would seal a value that no other server can open
            mixed = admin.put("/credentials/fourth", json={"value": "sk-fourth-1"})
        assert mixed.status_code == 409 and "another key" in mixed.json()["detail"], mixed.text
        log = stop(stale.process)
        assert "stored credential rotating cannot be opened" in log
        assert "stored credential second cannot be opened" in log
    finally:
        for started in servers:
            stop(started.process)
        upstream.close()
        other.close()
    for started in servers:
        assert VALUE not in output(started.process) and OTHER not in output(started.process)


def test_credentials_cli(server_with_key: Server, tmp_path: Path) -> None:
    env = server_with_key.cli_env()
    from_env = cli(
        "credentials",
        "set",
        "cli-env",
        "--from-env",
        "MY_UPSTREAM",
        "--description",
        "d",
        env={**env, "MY_UPSTREAM": VALUE},
    )
    assert from_env.returncode == 0 and "created credential cli-env" in from_env.stdout, from_env.stderr
    path = tmp_path / "value"
    path.write_text(OTHER + "\n")
    from_file = cli("credentials", "set", "cli-env", "--from-file", str(path), env=env)
    assert from_file.returncode == 0 and "replaced credential cli-env" in from_file.stdout, from_file.stderr
    from_stdin = cli("credentials", "set", "cli-stdin", env=env, input=VALUE + "\n")
    assert from_stdin.returncode == 0, from_stdin.stderr
    unset = cli("credentials", "set", "cli-x", "--from-env", "NOT_SET_ANYWHERE", env=env)
    assert unset.returncode == 1 and "NOT_SET_ANYWHERE is not set" in unset.stderr
    listed = cli("credentials", "list", "--json", env=env)
    shown = cli("credentials", "show", "cli-env", env=env)
    assert listed.returncode == 0 and shown.returncode == 0
    assert [item["name"] for item in json.loads(listed.stdout)["items"]] == ["cli-env", "cli-stdin"]
    deleted = cli("credentials", "delete", "cli-stdin", env=env)
    assert deleted.returncode == 0 and "deleted credential cli-stdin" in deleted.stdout
    for done in (from_env, from_file, from_stdin, listed, shown, deleted):
        assert VALUE not in done.stdout + done.stderr and OTHER not in done.stdout + done.stderr


@pytest.fixture
def server_with_key(tmp_path: Path) -> Iterator[Server]:
    with database("sqlite", tmp_path) as url:
        started = start_server(url, extra_env={"HEADWATER_SECRET_KEY": generate_key()})
        yield started
        stop(started.process)
