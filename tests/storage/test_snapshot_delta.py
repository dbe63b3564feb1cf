"""Changes reach the snapshot as deltas, and a delta gives exactly what a full build gives.

Random sequences of changes of every kind (keys created, revoked, rotated, disabled, changed; users,
groups, service accounts, policies and models created, changed and deleted) are made through the
admin API of a real server; after each one, a snapshot brought up to date by
:meth:`SqlSnapshotSource.update` (a delta: the test checks no full build happened) must equal a
fresh full build of the same database. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.snapshot import Snapshot
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.snapshot_source import SqlSnapshotSource
from tests.support import Server, start_server, stop

pytestmark = pytest.mark.e2e

USERS = ["u0", "u1", "u2", "u3"]
GROUPS = ["g0", "g1", "g2"]
ACCOUNTS = ["s0", "s1"]
POLICIES = ["p0", "p1"]
MODELS = ["m0", "meta-llama/Llama-3.1-8B-Instruct", "llama3.1:8b"]
EMAILS = [None, "same@example.com", "other@example.com"]


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    started = start_server(database_url)
    yield started
    stop(started.process)


def _model(name: str, price: str) -> dict[str, Any]:
    return {
        "pricing": {"input_per_million": price, "output_per_million": "0.6", "currency": "USD"},
        "access": "restricted" if price > "0.5" else "open",
        "deployments": [{"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "upstream_model": name}],
    }


Op = tuple[str, ...]

operations = st.one_of(
    st.tuples(
        st.just("user"),
        st.sampled_from(USERS),
        st.sampled_from(EMAILS),
        st.sets(st.sampled_from(GROUPS), max_size=2).map(lambda groups: ",".join(sorted(groups))),
        st.sampled_from(["active", "disabled"]),
    ),
    st.tuples(st.just("delete-user"), st.sampled_from(USERS)),
    st.tuples(st.just("group"), st.sampled_from(GROUPS), st.sampled_from(["", "about"])),
    st.tuples(st.just("delete-group"), st.sampled_from(GROUPS)),
    st.tuples(
        st.just("account"),
        st.sampled_from(ACCOUNTS),
        st.sampled_from(GROUPS),
        st.sampled_from(["active", "disabled"]),
    ),
    st.tuples(st.just("delete-account"), st.sampled_from(ACCOUNTS)),
    st.tuples(
        st.just("policy"),
        st.sampled_from(POLICIES),
        st.sampled_from(GROUPS),
        st.sampled_from(USERS),
        st.sampled_from(["0", "5"]),
        st.sampled_from(["active", "inactive"]),
    ),
    st.tuples(st.just("delete-policy"), st.sampled_from(POLICIES)),
    st.tuples(st.just("model"), st.sampled_from(MODELS), st.sampled_from(["0.2", "0.9"])),
    st.tuples(st.just("delete-model"), st.sampled_from(MODELS)),
    st.tuples(st.just("key"), st.sampled_from([f"user:{u}" for u in USERS] + ["group:g0", "-"])),
    st.tuples(st.sampled_from(["revoke", "rotate", "disable", "enable", "limit"]), st.integers(0, 9)),
)


async def _do(admin: httpx.AsyncClient, op: Op, keys: list[str]) -> None:
    """One change through the admin API; refusals (a missing group, a key already revoked) are
    fine: they change nothing, and the snapshot must still match."""
    kind, *args = op
    if kind == "user":
        name, email, groups, status = args
        body: dict[str, Any] = {"groups": groups.split(",") if groups else [], "status": status}
        if email:
            body["email"] = email
        await admin.put(f"/users/{name}", json=body)
    elif kind == "group":
        await admin.put(f"/groups/{args[0]}", json={"description": args[1]})
    elif kind == "account":
        await admin.put(f"/service-accounts/{args[0]}", json={"group": args[1], "status": args[2]})
    elif kind == "policy":
        name, group, user, priority, status = args
        spec = {
            "status": status,
            "priority": int(priority),
            "assets": {"models": "all"},
            "targets": {"groups": [group], "users": [user]},
            "limits": [{"requests": 10, "window": "1m"}],
        }
        await admin.put(f"/policies/{name}", json=spec)
    elif kind == "model":
        await admin.put(f"/models/{args[0]}", json=_model(args[0], args[1]))
    elif kind.startswith("delete-"):
        path = {"user": "users", "group": "groups", "account": "service-accounts", "policy": "policies"}
        await admin.delete(f"/{path.get(kind[7:], 'models')}/{args[0]}")
    elif kind == "key":
        body = {"name": "k"} if args[0] == "-" else {"name": "k", "owner": args[0]}
        created = await admin.post("/keys", json=body)
        if created.status_code == 201:
            keys.append(created.json()["id"])
    elif keys:
        key_id = keys[int(args[0]) % len(keys)]
        if kind == "limit":
            await admin.patch(f"/keys/{key_id}", json={"limits": {"requests_per_minute": 5}})
        elif kind == "rotate":
            await admin.post(f"/keys/{key_id}/rotate", json={"grace": "1h"})
        else:
            await admin.post(f"/keys/{key_id}/{kind}")


async def _check(server: Server, ops: list[Op]) -> None:
    engine = create_engine(server.database_url)
    updating, building = SqlSnapshotSource(engine), SqlSnapshotSource(engine)
    headers = {"Authorization": f"Bearer {server.token}"}
    try:
        snapshot: Snapshot = await updating.load()
        keys: list[str] = []
        async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", headers=headers) as admin:
            for op in ops:
                await _do(admin, op, keys)
                snapshot = await updating.update(snapshot)
                built = await building.load()
                differing = [
                    f.name for f in fields(Snapshot) if getattr(snapshot, f.name) != getattr(built, f.name)
                ]
                assert not differing, (op, differing)
        assert updating.full_builds == 1  # the first: every change after it came as a delta
    finally:
        await updating.close()
        await building.close()
        await engine.dispose()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operations, min_size=10, max_size=30))
def test_every_change_as_a_delta_gives_the_full_build(server: Server, ops: list[Op]) -> None:
    asyncio.run(_check(server, ops))
