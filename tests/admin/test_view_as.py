"""Viewing as a user: an admin sees, read-only, exactly what the user sees.

Against a real `headwater serve`: the audited start (``POST /users/{name}/view-as``), then the
``X-Headwater-View-As`` header on GETs (the user's tenant, role and groups), refused writes, refused
callers who are not admins, unknown and disabled users, the log line and CORS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import Server, apply, create_key, database, doc, output, start_server, stop

pytestmark = pytest.mark.e2e

ORIGIN = "https://console.example.com"
VIEW_AS = "X-Headwater-View-As"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User,X-Forwarded-Groups",
        "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32",
        "HEADWATER_OIDC_ADMIN_GROUPS": "admins",
        "HEADWATER_OIDC_AUDITOR_GROUPS": "auditors",
        "HEADWATER_CORS_ORIGINS": ORIGIN,
        "HEADWATER_LOG_LEVEL": "info",
    }
    with database("sqlite", tmp_path_factory.mktemp("view-as")) as url:
        started = start_server(url, extra_env=env)
        apply(
            started,
            *(doc("Group", name) for name in ("devs", "ops", "research", "auditors")),
            doc("User", "alice", groups=["devs"]),
            doc("User", "bob", groups=["research"]),
            doc("User", "frank", groups=["research"]),
            doc("User", "erin", groups=["ops"]),
            doc("User", "carol", groups=["devs"], status="disabled"),
            doc("ServiceAccount", "research-bot", group="research"),
        )
        with started.admin() as admin:
            assert admin.put("/groups/research", json={"admins": ["bob"]}).status_code == 200
        yield started
        stop(started.process)


@pytest.fixture(scope="module")
def keys(server: Server) -> dict[str, str]:
    return {owner: create_key(server, owner=f"user:{owner}")["id"] for owner in ("alice", "erin")}


def viewing(server: Server, name: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.token}", VIEW_AS: name},
        timeout=30,
    )


def person(server: Server, name: str, groups: str = "", view_as: str | None = None) -> httpx.Client:
    headers = {"X-Forwarded-User": name, "X-Forwarded-Groups": groups}
    if view_as is not None:
        headers[VIEW_AS] = view_as
    return httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=30)


def audit(server: Server, **params: Any) -> list[dict[str, Any]]:
    with server.admin() as admin:
        response = admin.get("/audit/events", params=params)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


def test_the_start_is_audited_and_answers_the_user(server: Server) -> None:
    with server.admin() as admin:
        started = admin.post("/users/alice/view-as")
    assert started.status_code == 200, started.text
    assert started.json() == {
        "actor": "user:alice",
        "name": "alice",
        "role": "user",
        "via": "token",
        "groups": ["devs"],
        "admin_of": [],
        "viewing_as_by": "admin:bootstrap",
    }
    request_id = started.headers["x-request-id"]
    events = [event for event in audit(server, action="user.view_as") if event["request_id"] == request_id]
    assert len(events) == 1
    event = events[0]
    assert (event["actor"], event["target_type"], event["target_id"], event["outcome"]) == (
        "admin:bootstrap",
        "user",
        "alice",
        "success",
    )


def test_me_under_view_as_is_the_user_and_names_the_admin(server: Server) -> None:
    with viewing(server, "bob") as client:
        me = client.get("/me").json()
    assert (me["actor"], me["role"], me["groups"], me["admin_of"]) == (
        "user:bob",
        "user",
        ["research"],
        ["research"],
    )
    assert me["viewing_as_by"] == "admin:bootstrap"
    with server.admin() as admin:
        assert admin.get("/me").json()["viewing_as_by"] is None


def test_reads_show_the_users_tenant_only(server: Server, keys: dict[str, str]) -> None:
    with viewing(server, "alice") as alice:
        listed = {key["id"] for key in alice.get("/keys").json()["items"]}
        assert keys["alice"] in listed and keys["erin"] not in listed
        assert alice.get(f"/keys/{keys['alice']}").status_code == 200
        assert alice.get(f"/keys/{keys['erin']}").status_code == 404  # as for alice herself
        assert {user["name"] for user in alice.get("/users").json()["items"]} == {"alice"}
        refused = alice.get("/audit/events")
        assert refused.status_code == 403 and "(user)" in refused.json()["detail"]
        assert alice.head("/keys").status_code != 403  # HEAD is a read: never "read-only"
    with viewing(server, "bob") as bob:  # a group admin sees the group's members
        assert {user["name"] for user in bob.get("/users").json()["items"]} == {"bob", "frank"}
        accounts = {account["name"] for account in bob.get("/service-accounts").json()["items"]}
        assert accounts == {"research-bot"}
    # the denial is recorded in the admin's name, not in the user's
    request_id = refused.headers["x-request-id"]
    denied = [event for event in audit(server, action="audit.read") if event["request_id"] == request_id]
    assert [(event["actor"], event["outcome"]) for event in denied] == [("admin:bootstrap", "denied")]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/keys", {"name": "nope", "owner": "user:alice"}),
        ("PATCH", "/keys/{alice}", {"name": "renamed"}),
        ("POST", "/keys/{alice}/revoke", None),
        ("DELETE", "/users/erin", None),
        ("POST", "/users/erin/view-as", None),
        ("POST", "/apply", {"documents": []}),
    ],
)
def test_nothing_can_be_changed_while_viewing_as(
    server: Server, keys: dict[str, str], method: str, path: str, body: Any
) -> None:
    before = audit(server, limit=1)[0]["seq"]
    with viewing(server, "alice") as alice:
        response = alice.request(method, path.format(alice=keys["alice"]), json=body)
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "read-only while viewing as alice"}
    assert audit(server, limit=1)[0]["seq"] == before  # nothing written, not even a denial
    with server.admin() as admin:
        assert admin.get(f"/keys/{keys['alice']}").json()["status"] == "active"
        assert admin.get("/users/erin").status_code == 200


def test_a_change_is_refused_before_the_named_user_is_looked_up_and_a_hostile_name_is_not_echoed(
    server: Server,
) -> None:
    for name, shown in (("nobody-at-all", "nobody-at-all"), ("<script>alert(1)</script>", "a user")):
        with viewing(server, name) as viewer:
            response = viewer.post("/keys", json={"name": "nope"})
        assert response.status_code == 403, response.text
        assert response.json() == {"detail": f"read-only while viewing as {shown}"}
    with viewing(server, "<script>") as viewer:
        response = viewer.get("/me")
    assert response.status_code == 404 and "<script>" not in response.text


def test_only_admins_may_view_as(server: Server) -> None:
    with person(server, "alice", "devs", view_as="erin") as alice:
        refused = alice.get("/me")
    assert refused.status_code == 403 and "Only admins" in refused.json()["detail"]
    with person(server, "dave", "auditors", view_as="erin") as dave:
        assert dave.get("/keys").status_code == 403
    with person(server, "alice", "devs") as alice:
        assert alice.post("/users/erin/view-as").status_code == 403
    with person(server, "olga", "admins", view_as="erin") as olga:  # an admin by their groups
        me = olga.get("/me").json()
    assert (me["actor"], me["viewing_as_by"]) == ("user:erin", "user:olga")


@pytest.mark.parametrize("name", ["nobody", "../alice", "a" * 300, "alice\tx", ""])
def test_an_unknown_user_is_404(server: Server, name: str) -> None:
    with viewing(server, name) as client:
        response = client.get("/me")
    assert response.status_code == 404, response.text
    if name == "nobody":
        with server.admin() as admin:
            assert admin.post(f"/users/{name}/view-as").status_code == 404


def test_a_disabled_user_cannot_be_viewed_as(server: Server) -> None:
    with viewing(server, "carol") as client:
        response = client.get("/keys")
    assert response.status_code == 403 and "disabled" in response.json()["detail"]
    with server.admin() as admin:
        started = admin.post("/users/carol/view-as")
    assert started.status_code == 403 and "disabled" in started.json()["detail"]
    assert not [
        e
        for e in audit(server, action="user.view_as")
        if e["target_id"] == "carol" and e["outcome"] == "success"
    ]


def test_each_call_is_logged_without_secrets(server: Server) -> None:
    with viewing(server, "erin") as client:
        assert client.get("/usage/summary", params={"by": "user"}).status_code == 200
    log = output(server.process)
    assert "admin:bootstrap views as user:erin: GET /api/v1/usage/summary" in log
    assert server.token not in log


def test_cors_lets_a_console_elsewhere_send_the_header_to_the_admin_api_only(server: Server) -> None:
    asked = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,x-headwater-view-as",
    }
    admin = httpx.options(f"{server.url}/api/v1/me", headers=asked)
    assert admin.status_code == 204
    assert "x-headwater-view-as" in admin.headers["access-control-allow-headers"].split(", ")
    gateway = httpx.options(f"{server.url}/v1/models", headers=asked)
    assert "x-headwater-view-as" not in gateway.headers["access-control-allow-headers"].split(", ")
