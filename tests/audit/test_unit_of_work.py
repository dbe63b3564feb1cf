"""The unit of work that every change goes through, on a migrated SQLite and PostgreSQL database.

A change commits with its audit entry, one revision bump and one signal, or not at all: a write
without an entry is refused, a failure leaves no row and no entry, a dry run leaves nothing. Changes
of one resource made at once, through the admin API, are recorded one after the other: each entry's
``before`` is the previous entry's ``after``.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.audit.record import Entry, Origin
from headwater.audit.schemas import AuditEventRead
from headwater.control import ControlPlane
from headwater.directory.schemas import UserRead, UserSpec
from headwater.directory.service import USERS
from headwater.storage.sql import audit, migrate
from headwater.storage.sql import directory as directory_repo
from headwater.storage.sql.database import create_engine, current_revision
from headwater.unit_of_work import UnitOfWork, UnrecordedChange, Write, perform, perform_change
from tests.support import Server, apply, doc, start_server, stop

ORIGIN = Origin(actor="user:tester", request_id="req-unit", source_ip="192.0.2.7")


@dataclass
class Plane:
    cp: ControlPlane
    signals: list[int] = field(default_factory=list)

    @property
    def engine(self) -> AsyncEngine:
        return self.cp.engine

    async def state(self) -> tuple[int, int]:
        """(revision, audit head seq)."""
        async with self.engine.connect() as conn:
            return await current_revision(conn), (await audit.head(conn))[0]

    async def user(self, name: str) -> UserRead | None:
        async with self.engine.connect() as conn:
            return await directory_repo.get_user(conn, name)

    async def events_after(self, seq: int) -> list[AuditEventRead]:
        async with self.engine.connect() as conn:
            items, _ = await audit.page(conn, order="asc", limit=1000)
        return [event for event in items if event.seq > seq]


@pytest.fixture
async def plane(database_url: str) -> AsyncIterator[Plane]:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    signals: list[int] = []

    async def changed() -> None:
        signals.append(1)

    yield Plane(ControlPlane(engine=engine, changed=changed), signals)
    await engine.dispose()


def fresh() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


async def put_user(unit: UnitOfWork, name: str, before: UserRead | None, spec: UserSpec) -> None:
    await directory_repo.upsert_user(unit.conn, name, spec, exists=before is not None)


async def test_a_change_commits_with_its_entry_one_revision_and_one_signal(plane: Plane) -> None:
    name = fresh()
    revision, seq = await plane.state()

    async def write(unit: UnitOfWork, before: UserRead | None) -> None:
        await put_user(unit, name, before, UserSpec(display_name="Ann"))

    stored = await perform_change(plane.cp, ORIGIN, USERS, name, write)

    assert stored is not None and stored.display_name == "Ann"
    assert await plane.state() == (revision + 1, seq + 1)
    assert plane.signals == [1]
    [event] = await plane.events_after(seq)
    assert (event.action, event.target_type, event.target_id) == ("user.create", "user", name)
    assert (event.actor, event.request_id, event.source_ip) == ("user:tester", "req-unit", "192.0.2.7")
    assert event.before is None
    assert event.after is not None and event.after["display_name"] == "Ann"


async def test_a_write_without_an_entry_is_refused_and_rolled_back(plane: Plane) -> None:
    name = fresh()
    before = await plane.state()

    async def forgetful(unit: UnitOfWork) -> None:
        await put_user(unit, name, None, UserSpec())  # and no unit.record(...)

    for dry_run in (True, False):  # a dry run fails where the change would
        with pytest.raises(UnrecordedChange, match="without an audit entry"):
            await perform(plane.cp, ORIGIN, forgetful, dry_run=dry_run)

    assert await plane.user(name) is None
    assert await plane.state() == before
    assert plane.signals == []


async def test_a_failing_change_records_nothing_and_leaves_nothing(plane: Plane) -> None:
    name = fresh()
    before = await plane.state()

    async def write(unit: UnitOfWork, found: UserRead | None) -> None:
        await put_user(unit, name, found, UserSpec())
        raise RuntimeError("refused after writing")

    with pytest.raises(RuntimeError, match="refused after writing"):
        await perform_change(plane.cp, ORIGIN, USERS, name, write)

    assert await plane.user(name) is None
    assert await plane.state() == before
    assert plane.signals == []


async def test_a_change_that_writes_nothing_commits_nothing(plane: Plane) -> None:
    name = fresh()
    before = await plane.state()

    async def nothing(unit: UnitOfWork, found: UserRead | None) -> None:
        assert found is None

    assert await perform_change(plane.cp, ORIGIN, USERS, name, nothing) is None
    assert await plane.state() == before
    assert plane.signals == []


async def test_a_batch_is_one_change_and_its_dry_run_leaves_nothing(plane: Plane) -> None:
    names = [fresh() for _ in range(3)]
    revision, seq = await plane.state()

    def writing(name: str) -> Write[UserRead]:
        async def write(unit: UnitOfWork, before: UserRead | None) -> None:
            await put_user(unit, name, before, UserSpec(display_name=name.upper()))

        return write

    async def batch(unit: UnitOfWork) -> list[UserRead | None]:
        changed = []
        for name in names:
            after = await unit.change(USERS, name, writing(name))
            changed.append(after)
        return changed

    seen = await perform(plane.cp, ORIGIN, batch, dry_run=True)
    assert [user.name if user else None for user in seen] == names  # the work ran, and was undone
    assert [await plane.user(name) for name in names] == [None, None, None]
    assert await plane.state() == (revision, seq)
    assert plane.signals == []

    await perform(plane.cp, ORIGIN, batch)
    assert [(await plane.user(name)) is not None for name in names] == [True, True, True]
    assert await plane.state() == (revision + 1, seq + 3)
    assert plane.signals == [1]
    events = await plane.events_after(seq)
    assert [(event.action, event.target_id) for event in events] == [("user.create", n) for n in names]


async def test_a_changes_own_entry_comes_before_those_its_write_records(plane: Plane) -> None:
    name, seq = fresh(), (await plane.state())[1]

    async def write(unit: UnitOfWork, before: UserRead | None) -> None:
        await put_user(unit, name, before, UserSpec())
        unit.record(Entry("group.update", "group", "side-effect", detail="recorded by the write"))

    await perform_change(plane.cp, ORIGIN, USERS, name, write)
    events = await plane.events_after(seq)
    assert [event.action for event in events] == ["user.create", "group.update"]


async def test_writes_without_an_entry_commit_only_when_the_change_says_why(plane: Plane) -> None:
    name, (revision, seq) = fresh(), await plane.state()

    async def bookkeeping(unit: UnitOfWork) -> None:
        await put_user(unit, name, None, UserSpec())
        unit.allow_unrecorded("a test's bookkeeping")

    await perform(plane.cp, ORIGIN, bookkeeping)
    assert await plane.user(name) is not None
    assert await plane.state() == (revision + 1, seq)
    assert plane.signals == [1]

    async def no_reason(unit: UnitOfWork) -> None:
        unit.allow_unrecorded("  ")

    with pytest.raises(ValueError, match="say why"):
        await perform(plane.cp, ORIGIN, no_reason)


async def test_a_unit_cannot_start_inside_another(plane: Plane) -> None:
    name, before = fresh(), await plane.state()

    async def inner(unit: UnitOfWork) -> None:
        await put_user(unit, name, None, UserSpec())

    async def outer(unit: UnitOfWork) -> None:
        await put_user(unit, f"{name}-outer", None, UserSpec())
        await perform(plane.cp, ORIGIN, inner)

    with pytest.raises(RuntimeError, match="inside another"):
        await perform(plane.cp, ORIGIN, outer)
    assert await plane.user(name) is None and await plane.user(f"{name}-outer") is None
    assert await plane.state() == before


# ---- concurrent changes of one resource, through the admin API -------------------------------
RACERS = 12


async def racing(server: Server, calls: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
    headers = {"Authorization": f"Bearer {server.token}"}
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", headers=headers, timeout=60) as client:
        answers = await asyncio.gather(*(client.request(m, url, json=body) for m, url, body in calls))
    return [answer.status_code for answer in answers]


def history(server: Server, target: str) -> list[dict[str, Any]]:
    with server.admin() as admin:
        found = admin.get("/audit/events", params={"target": target, "order": "asc", "limit": 200})
    assert found.status_code == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


def assert_consecutive(events: list[dict[str, Any]]) -> None:
    """Each change starts from the state the previous one left."""
    for previous, event in itertools.pairwise(events):
        assert event["before"] == previous["after"], (previous["seq"], event["seq"])


@pytest.mark.e2e
def test_concurrent_changes_of_one_policy_record_consecutive_states(server: Server) -> None:
    name = f"p-{uuid.uuid4().hex[:8]}"
    body = {"assets": {"models": "all"}}
    with server.admin() as admin:
        assert admin.put(f"/policies/{name}", json={**body, "description": "v0"}).status_code == 200
    calls = [("PUT", f"/policies/{name}", {**body, "description": f"v{n + 1}"}) for n in range(RACERS)]

    assert asyncio.run(racing(server, calls)) == [200] * RACERS
    events = history(server, name)
    assert [event["action"] for event in events] == ["policy.create"] + ["policy.update"] * RACERS
    assert_consecutive(events)
    descriptions = {event["after"]["description"] for event in events[1:]}
    assert descriptions == {f"v{n + 1}" for n in range(RACERS)}


@pytest.mark.e2e
def test_concurrent_changes_of_one_key_record_consecutive_states(server: Server) -> None:
    with server.admin() as admin:
        created = admin.post("/keys", json={"name": "k0"})
    assert created.status_code == 201, created.text
    key_id = created.json()["id"]
    calls = [("PATCH", f"/keys/{key_id}", {"name": f"k{n + 1}"}) for n in range(RACERS)]
    calls.append(("POST", f"/keys/{key_id}/disable", {}))

    assert asyncio.run(racing(server, calls)) == [200] * len(calls)
    events = history(server, key_id)
    actions = [event["action"] for event in events]
    assert actions[0] == "key.create"
    assert sorted(actions[1:]) == ["key.disable"] + ["key.update"] * RACERS
    assert_consecutive(events)


@pytest.fixture(scope="module")
def limited(database_url: str) -> Iterator[Server]:
    """A server where users create their own keys (behind a trusted gateway), three live ones each."""
    env = {
        "HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User",
        "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32",
        "HEADWATER_KEYS_MAX_ACTIVE_PER_USER": "3",
    }
    server = start_server(database_url, extra_env=env)
    apply(server, doc("User", "carol"))
    yield server
    stop(server.process)


@pytest.mark.e2e
def test_concurrent_self_service_creations_stop_at_the_most_keys_allowed(limited: Server) -> None:
    async def create_all() -> list[int]:
        headers = {"X-Forwarded-User": "carol"}
        async with httpx.AsyncClient(base_url=f"{limited.url}/api/v1", headers=headers, timeout=60) as client:
            answers = await asyncio.gather(
                *(client.post("/keys", json={"name": f"k{n}"}) for n in range(RACERS))
            )
        return sorted(answer.status_code for answer in answers)

    assert asyncio.run(create_all()) == [201] * 3 + [422] * (RACERS - 3)
    with limited.admin() as admin:
        keys = admin.get("/keys", params={"owner": "user:carol", "limit": 100}).json()["items"]
    assert len(keys) == 3
