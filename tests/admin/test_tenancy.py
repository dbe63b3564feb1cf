"""Tenancy on reads and on service accounts, through a real server behind a trusted gateway.

alice is a plain user in `engineering`; bob administers `research` (he is listed in the group's
`admins`), whose members are carol and bob. Callers come through trusted headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import Server, Sim, apply, create_key, doc, model_doc, start_server, stop, wait_for

pytestmark = pytest.mark.e2e

SECRET_URL_SUFFIX = "svc:s3cr3t@"
CREDENTIAL = "HEADWATER_UPSTREAM_TENANCY_KEY"


def one_request(name: str) -> dict[str, Any]:
    return {
        "assets": {"models": "all"},
        "targets": {"users": [name]},
        "limits": [{"requests": 1, "window": "1h"}],
    }


@pytest.fixture(scope="module")
def world(database_url: str, sim: Sim) -> Iterator[Server]:
    env = {
        "HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User,X-Forwarded-Groups",
        "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32",
    }
    server = start_server(database_url, extra_env=env)
    secret_url = sim.url.replace("http://", f"http://{SECRET_URL_SUFFIX}")
    apply(
        server,
        doc("Group", "engineering"),
        doc("Group", "research", admins=["bob"]),
        doc("User", "alice", groups=["engineering"]),
        doc("User", "bob", groups=["research"]),
        doc("User", "carol", groups=["research"]),
        doc("ServiceAccount", "research-bot", group="research"),
        doc("ServiceAccount", "eng-bot", group="engineering"),
        model_doc("tenancy-model", secret_url, deployment={"credential_env": CREDENTIAL}),
        doc("Policy", "engineering-tier", targets={"groups": ["engineering"]}),
        doc("Policy", "research-tier", targets={"groups": ["research"]}),
        doc("Policy", "alice-tier", priority=10, **one_request("alice")),
        doc("Policy", "carol-tier", priority=10, **one_request("carol")),
        doc("Policy", "research-bots", targets={"serviceAccounts": ["research-bot"]}),
        doc("Policy", "eng-bots", targets={"serviceAccounts": ["eng-bot"]}),
    )
    yield server
    stop(server.process)


def as_user(world: Server, name: str, groups: str = "") -> httpx.Client:
    headers = {"X-Forwarded-User": name, "X-Forwarded-Groups": groups}
    return httpx.Client(base_url=f"{world.url}/api/v1", headers=headers, timeout=30)


@pytest.fixture
def alice(world: Server) -> Iterator[httpx.Client]:
    with as_user(world, "alice", "engineering") as client:
        yield client


@pytest.fixture
def bob(world: Server) -> Iterator[httpx.Client]:
    with as_user(world, "bob", "research") as client:
        yield client


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(item["name"] for item in response.json()["items"])


def test_a_user_reads_only_themself_and_their_groups(alice: httpx.Client) -> None:
    assert names(alice.get("/users")) == ["alice"]
    assert alice.get("/users/alice").json()["groups"] == ["engineering"]
    for path in ("/users/bob", "/users/nobody", "/groups/research", "/service-accounts/eng-bot"):
        response = alice.get(path)
        assert response.status_code == 404 and "not found" in response.json()["detail"], path
    assert names(alice.get("/groups")) == ["engineering"]
    assert names(alice.get("/service-accounts")) == []
    created = alice.post("/service-accounts", json={"name": "alice-bot", "group": "engineering"})
    assert created.status_code == 403  # she administers no group


def test_a_user_reads_only_the_policies_that_target_them(alice: httpx.Client, bob: httpx.Client) -> None:
    assert names(alice.get("/policies")) == ["alice-tier", "engineering-tier"]
    assert alice.get("/policies/research-tier").status_code == 404
    assert alice.get("/policies/alice-tier").status_code == 200
    assert names(bob.get("/policies")) == ["research-bots", "research-tier"]
    assert bob.get("/policies/carol-tier").status_code == 404  # he sees carol's keys, not her tier


def test_the_catalog_hides_upstream_credentials_from_users(world: Server, alice: httpx.Client) -> None:
    shown = alice.get("/models/tenancy-model").json()
    assert shown["deployments"] == []  # upstream URLs and credential variables are internals
    assert "s3cr3t" not in str(shown) and CREDENTIAL not in str(shown)
    listed = [m for m in alice.get("/models").json()["items"] if m["name"] == "tenancy-model"]
    assert listed == [shown]
    with world.admin() as admin:
        full = admin.get("/models/tenancy-model").json()["deployments"][0]
    assert full["credential_env"] == CREDENTIAL and SECRET_URL_SUFFIX in full["base_url"]


def test_a_group_admin_reads_their_group(bob: httpx.Client) -> None:
    assert names(bob.get("/users")) == ["bob", "carol"]
    assert bob.get("/users/carol").status_code == 200
    assert bob.get("/users/alice").status_code == 404
    assert names(bob.get("/groups")) == ["research"]
    assert bob.get("/groups/research").json()["admins"] == ["bob"]
    assert bob.get("/groups/engineering").status_code == 404
    assert "research-bot" in names(bob.get("/service-accounts"))
    assert "eng-bot" not in names(bob.get("/service-accounts"))
    assert bob.get("/service-accounts/research-bot").status_code == 200


def test_a_group_admin_manages_their_groups_service_accounts(world: Server, bob: httpx.Client) -> None:
    created = bob.post("/service-accounts", json={"name": "bob-bot", "group": "research"})
    assert created.status_code == 201, created.text
    updated = bob.put("/service-accounts/bob-bot", json={"group": "research", "description": "nightly"})
    assert updated.status_code == 200 and updated.json()["description"] == "nightly"
    with world.admin() as admin:
        events = admin.get("/audit/events", params={"actor": "user:bob", "target": "bob-bot"}).json()["items"]
    assert [e["action"] for e in events] == ["serviceaccount.update", "serviceaccount.create"]
    assert events[0]["request_id"] == updated.headers["x-request-id"]

    elsewhere = bob.post("/service-accounts", json={"name": "bob-eng-bot", "group": "engineering"})
    assert elsewhere.status_code == 403
    assert "You do not administer group engineering" in elsewhere.json()["detail"]
    moved = bob.put("/service-accounts/bob-bot", json={"group": "engineering"})
    assert moved.status_code == 403  # nor move one out of his groups
    for response in (
        bob.put("/service-accounts/eng-bot", json={"group": "research"}),
        bob.delete("/service-accounts/eng-bot"),
        bob.post("/service-accounts", json={"name": "eng-bot", "group": "research"}),
    ):
        assert response.status_code == 404 and "not found" in response.json()["detail"]

    assert bob.delete("/service-accounts/bob-bot").status_code == 204
    assert bob.get("/service-accounts/bob-bot").status_code == 404
    with world.admin() as admin:
        assert admin.get("/service-accounts/eng-bot").json()["group"] == "engineering"
        assert admin.get("/service-accounts/bob-eng-bot").status_code == 404


def call(world: Server, owner: str) -> int:
    key = create_key(world, owner=owner)["key"]
    body = {"model": "tenancy-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.post(f"{world.v1}/chat/completions", json=body, headers=headers, timeout=30).status_code


def principals(client: httpx.Client, path: str, **params: Any) -> set[str]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return {item["principal"] for item in response.json()["items"]}


def test_usage_and_limit_events_are_narrowed_to_the_tenant(
    world: Server, alice: httpx.Client, bob: httpx.Client
) -> None:
    owners = ["user:alice", "user:carol", "serviceaccount:research-bot", "serviceaccount:eng-bot"]
    for owner in owners:
        assert call(world, owner) == 200
    assert call(world, "user:alice") == 429  # one request an hour: a limit event each
    assert call(world, "user:carol") == 429
    with world.admin() as admin:
        wait_for(lambda: principals(admin, "/usage/events") >= set(owners), timeout=10)
        wait_for(lambda: principals(admin, "/usage/limit-events") >= {"user:alice", "user:carol"}, timeout=10)

    assert principals(alice, "/usage/events") == {"user:alice"}
    assert principals(alice, "/usage/events", user="carol") == set()
    assert principals(alice, "/usage/events", principal="serviceaccount:eng-bot") == set()
    assert principals(alice, "/usage/limit-events") == {"user:alice"}
    assert principals(alice, "/usage/limit-events", principal="user:carol") == set()

    assert principals(bob, "/usage/events") == {"user:carol", "serviceaccount:research-bot"}
    assert principals(bob, "/usage/events", user="carol") == {"user:carol"}
    assert principals(bob, "/usage/events", user="alice") == set()
    assert principals(bob, "/usage/limit-events") == {"user:carol"}


CHANGES = [
    ("PATCH", "", {"name": "mine now"}),
    ("PATCH", "", {"limits": None}),
    ("POST", "/disable", None),
    ("POST", "/enable", None),
    ("POST", "/revoke", None),
    ("POST", "/rotate", {"grace": "1h"}),
]


def test_a_group_admin_sees_but_never_changes_a_members_key(world: Server, bob: httpx.Client) -> None:
    carols = create_key(world, owner="user:carol", limits={"requests_per_minute": 5})
    assert bob.get(f"/keys/{carols['id']}").json()["owner"] == "user:carol"
    listed = bob.get("/keys", params={"owner": "user:carol"}).json()["items"]
    assert carols["id"] in {key["id"] for key in listed}
    assert {key["owner"] for key in listed} == {"user:carol"}
    for method, suffix, body in CHANGES:
        response = bob.request(method, f"/keys/{carols['id']}{suffix}", json=body)
        assert response.status_code == 403, (method, suffix, response.text)
        assert "Group admins manage only their groups' and their service accounts' keys" in response.text
    for body in ({"user": "carol"}, {"user": "carol", "dry_run": True}):
        assert bob.post("/keys/revoke", json=body).status_code == 403
    assert bob.post("/keys", json={"name": "for carol", "owner": "user:carol"}).status_code == 403

    with world.admin() as admin:
        kept = admin.get(f"/keys/{carols['id']}").json()
        denied = admin.get(
            "/audit/events", params={"actor": "user:bob", "target": carols["id"], "outcome": "denied"}
        ).json()["items"]
    assert kept["name"] == "test" and kept["status"] == "active"
    assert kept["limits"]["requests_per_minute"] == 5
    assert {event["action"] for event in denied} == {"key.update", "key.revoke", "key.rotate"}
    # the old secret still works: nobody else holds a working secret for carol's key
    headers = {"Authorization": f"Bearer {carols['key']}"}
    assert httpx.get(f"{world.v1}/models", headers=headers, timeout=30).status_code == 200


def test_a_group_admin_manages_the_groups_and_its_service_accounts_keys(
    world: Server, bob: httpx.Client
) -> None:
    for owner in ("group:research", "serviceaccount:research-bot"):
        made = bob.post("/keys", json={"name": "team", "owner": owner})
        assert made.status_code == 201, made.text
        key_id = made.json()["id"]
        renamed = bob.patch(f"/keys/{key_id}", json={"name": "team key"})
        assert renamed.status_code == 200 and renamed.json()["name"] == "team key"
        rotated = bob.post(f"/keys/{key_id}/rotate", json={"grace": "24h"})
        assert rotated.status_code == 200 and rotated.json()["key"] != made.json()["key"]
        assert bob.post(f"/keys/{key_id}/disable").json()["status"] == "disabled"
        assert bob.post(f"/keys/{key_id}/enable").json()["status"] == "active"
        assert bob.post(f"/keys/{key_id}/revoke").json()["status"] == "revoked"
    admins = create_key(world, owner="serviceaccount:research-bot")
    assert bob.post(f"/keys/{admins['id']}/rotate").status_code == 200


def test_a_rotation_grace_over_the_maximum_is_422_for_everyone(world: Server, bob: httpx.Client) -> None:
    key_id = create_key(world, owner="serviceaccount:research-bot")["id"]
    with world.admin() as admin:
        for client in (admin, bob):
            response = client.post(f"/keys/{key_id}/rotate", json={"grace": "25h"})
            assert response.status_code == 422, response.text
            [error] = response.json()["detail"]
            assert error["loc"] == ["body", "grace"]
            assert error["msg"] == "at most 1 day (HEADWATER_KEYS_MAX_ROTATION_GRACE)"
        assert admin.post(f"/keys/{key_id}/rotate", json={"grace": "1440m"}).status_code == 200
