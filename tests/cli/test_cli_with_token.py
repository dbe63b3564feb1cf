"""A user runs the CLI with their own OIDC access token: they are themself, and manage their own keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.oidc_provider import OidcProvider, oidc_env
from tests.support import Server, apply, cli, start_server, stop

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(database_url: str, oidc: OidcProvider) -> Iterator[Server]:
    env = {**oidc_env(oidc, sign_in=False), "HEADWATER_KEYS_MAX_EXPIRY": "30d"}
    started = start_server(database_url, extra_env=env)
    group = {"apiVersion": "headwater/v1", "kind": "Group", "metadata": {"name": "research"}, "spec": {}}
    apply(started, group)
    yield started
    stop(started.process)


def as_alice(server: Server, oidc: OidcProvider) -> dict[str, str]:
    return {"HEADWATER_URL": server.url, "HEADWATER_TOKEN": oidc.access_token("alice", "alice-pw")}


def run(env: dict[str, str], *args: str) -> Any:
    done = cli(*args, "--json", env=env)
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def test_a_user_manages_their_own_keys_with_the_cli(server: Server, oidc: OidcProvider) -> None:
    env = as_alice(server, oidc)
    me = run(env, "whoami")
    assert (me["name"], me["role"], me["via"]) == ("alice", "user", "oidc")
    assert me["groups"] == ["engineering"]

    key = run(env, "keys", "create", "--name", "laptop")
    assert key["owner"] == "user:alice" and key["created_by"] == "user:alice"
    assert key["expires_at"] is not None  # the maximum expiry applies to self-service keys
    assert [k["id"] for k in run(env, "keys", "list")["items"]] == [key["id"]]
    assert run(env, "keys", "rotate", key["id"])["key"] != key["key"]

    too_long = cli("keys", "create", "--name", "forever", "--expires-in", "90d", env=env)
    assert too_long.returncode == 1 and "HEADWATER_KEYS_MAX_EXPIRY" in too_long.stderr
    for_someone_else = cli("keys", "create", "--name", "x", "--owner", "group:research", env=env)
    assert for_someone_else.returncode == 1 and "for yourself" in for_someone_else.stderr
    audit = cli("audit", "list", env=env)
    assert audit.returncode == 1 and "may not perform audit.read" in audit.stderr

    assert run(env, "keys", "revoke", "--user", "alice")["count"] == 1
