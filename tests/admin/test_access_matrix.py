"""Every admin API route × every role × an object of the caller's own tenant and of another's.

The routes come from the running server's OpenAPI document, so a new route without a row here
fails the test. Denied reads of another tenant's object answer 404 (ids cannot be probed); a role
that may not perform an action at all gets 403. Every state-changing call gets a fresh target, so
the calls do not depend on each other's order.

Callers: the bootstrap admin token; `dave` (auditor, through the HEADWATER_OIDC_AUDITOR_GROUPS
group); `bob` (a user who administers the group `research`); `alice` (a plain user in `devs`).
Non-admins come through a trusted gateway header; OIDC callers get the same principals.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Server, apply, database, doc, model_doc, start_server, stop

pytestmark = pytest.mark.e2e

ROLES = ("admin", "auditor", "groupadmin", "user")
PERSON = {"auditor": "dave", "groupadmin": "bob", "user": "alice"}
HOME = {"admin": "ops", "auditor": "ops", "groupadmin": "research", "user": "devs"}
OK, DENIED, HIDDEN = "ok", "403", "404"


@dataclass
class World:
    server: Server
    admin: httpx.Client

    def fresh(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def made(self, response: httpx.Response) -> Any:
        assert response.status_code in (200, 201), response.text
        return response.json()

    def key(self, owner: str) -> str:
        return str(self.made(self.admin.post("/keys", json={"name": "m", "owner": owner}))["id"])

    def user(self, group: str) -> str:
        name = self.fresh("u")
        self.made(self.admin.post("/users", json={"name": name, "groups": [group]}))
        return name

    def group(self) -> str:
        name = self.fresh("g")
        self.made(self.admin.post("/groups", json={"name": name}))
        return name

    def account(self, group: str) -> str:
        name = self.fresh("sa")
        self.made(self.admin.post("/service-accounts", json={"name": name, "group": group}))
        return name

    def policy(self, group: str) -> str:
        name = self.fresh("p")
        body = {"name": name, "assets": {"models": "all"}, "targets": {"groups": [group]}}
        self.made(self.admin.post("/policies", json=body))
        return name

    def credential(self) -> str:
        name = self.fresh("c")
        self.made(self.admin.put(f"/credentials/{name}", json={"value": "sk-matrix"}))
        return name

    def model(self) -> str:
        name = self.fresh("m")
        spec = model_doc(name, "http://127.0.0.1:1/v1")["spec"]
        self.made(self.admin.post("/models", json={"name": name, **spec}))
        return name


def own_key_owner(role: str) -> str:
    return "user:alice" if role == "user" else "serviceaccount:research-bot"


Request = tuple[str, str, Any]  # method, path, JSON body
Build = Callable[[World, str, bool], Request]  # (world, role, own) → the request


def key_route(method: str, suffix: str = "", body: Any = None) -> Build:
    def build(world: World, role: str, own: bool) -> Request:
        key_id = world.key(own_key_owner(role) if own else "user:erin")
        return method, f"/keys/{key_id}{suffix}", body

    return build


def named(method: str, collection: str, make: Callable[[World, str, bool], str], body: Any = None) -> Build:
    def build(world: World, role: str, own: bool) -> Request:
        name = make(world, role, own)
        payload = body(world, role, own) if callable(body) else body
        return method, f"/{collection}/{name}", payload

    return build


def fixed(method: str, path: str, body: Any = None) -> Build:
    def build(world: World, role: str, own: bool) -> Request:
        payload = body(world, role, own) if callable(body) else body
        return method, path, payload

    return build


def user_name(world: World, role: str, own: bool) -> str:
    if not own:
        return world.user("ops")
    return "alice" if role == "user" else world.user("research")


def group_name(world: World, role: str, own: bool) -> str:
    return HOME[role] if own else "ops"


def fresh_group(world: World, role: str, own: bool) -> str:
    return world.group()


def account_name(world: World, role: str, own: bool) -> str:
    return world.account("research" if own else "ops")


def policy_name(world: World, role: str, own: bool) -> str:
    return world.policy(HOME[role] if own else "ops")


def model_name(world: World, role: str, own: bool) -> str:
    return world.model()


def credential_name(world: World, role: str, own: bool) -> str:
    return world.credential()


def key_body(world: World, role: str, own: bool) -> Any:
    owner = own_key_owner(role) if own else "user:erin"
    return {"name": "matrix", "owner": owner}


def bulk_body(world: World, role: str, own: bool) -> Any:
    if role == "groupadmin":
        return {"group": "research" if own else "ops", "dry_run": True}
    return {"user": "alice" if own else "erin", "dry_run": True}


def account_body(world: World, role: str, own: bool) -> Any:
    return {"name": world.fresh("sa"), "group": "research" if own else "ops"}


def model_body(world: World, role: str, own: bool) -> Any:
    name = world.fresh("m")
    return {"name": name, **model_doc(name, "http://127.0.0.1:1/v1")["spec"]}


MODEL_SPEC = model_doc("x", "http://127.0.0.1:1/v1")["spec"]
EVERYONE = dict.fromkeys(ROLES, (OK, OK))
ADMIN_ONLY = {
    "admin": (OK, OK),
    "auditor": (DENIED, DENIED),
    "groupadmin": (DENIED,) * 2,
    "user": (DENIED,) * 2,
}
READERS = {"admin": (OK, OK), "auditor": (OK, OK), "groupadmin": (DENIED,) * 2, "user": (DENIED,) * 2}
TENANT_READ = {"admin": (OK, OK), "auditor": (OK, OK), "groupadmin": (OK, HIDDEN), "user": (OK, HIDDEN)}
TENANT_WRITE = {"admin": (OK, OK), "auditor": (DENIED,) * 2, "groupadmin": (OK, HIDDEN), "user": (OK, HIDDEN)}
GROUP_WRITE = {"admin": (OK, OK), "auditor": (DENIED,) * 2, "groupadmin": (OK, HIDDEN), "user": (DENIED,) * 2}
CREATE_OWN = {"admin": (OK, OK), "auditor": (DENIED,) * 2, "groupadmin": (OK, DENIED), "user": (OK, DENIED)}
CREATE_IN_GROUP = {
    "admin": (OK, OK),
    "auditor": (DENIED,) * 2,
    "groupadmin": (OK, DENIED),
    "user": (DENIED,) * 2,
}

#: (method, route) → (how to call it, expected outcome per role for (own, other)).
MATRIX: dict[tuple[str, str], tuple[Build, dict[str, tuple[str, str]]]] = {
    ("GET", "/api/v1/info"): (fixed("GET", "/info"), EVERYONE),  # public: no authentication at all
    ("GET", "/api/v1/me"): (fixed("GET", "/me"), EVERYONE),
    ("GET", "/api/v1/keys"): (fixed("GET", "/keys"), EVERYONE),
    ("POST", "/api/v1/keys"): (fixed("POST", "/keys", key_body), CREATE_OWN),
    ("POST", "/api/v1/keys/revoke"): (fixed("POST", "/keys/revoke", bulk_body), TENANT_WRITE),
    ("GET", "/api/v1/keys/{key_id}"): (key_route("GET"), TENANT_READ),
    ("GET", "/api/v1/keys/{key_id}/quota"): (key_route("GET", "/quota"), TENANT_READ),
    ("PATCH", "/api/v1/keys/{key_id}"): (key_route("PATCH", body={"name": "renamed"}), TENANT_WRITE),
    ("POST", "/api/v1/keys/{key_id}/disable"): (key_route("POST", "/disable"), TENANT_WRITE),
    ("POST", "/api/v1/keys/{key_id}/enable"): (key_route("POST", "/enable"), TENANT_WRITE),
    ("POST", "/api/v1/keys/{key_id}/revoke"): (key_route("POST", "/revoke"), TENANT_WRITE),
    ("POST", "/api/v1/keys/{key_id}/rotate"): (key_route("POST", "/rotate"), TENANT_WRITE),
    ("GET", "/api/v1/models"): (fixed("GET", "/models"), EVERYONE),
    ("POST", "/api/v1/models"): (fixed("POST", "/models", model_body), ADMIN_ONLY),
    ("POST", "/api/v1/models/test-connection"): (
        fixed(
            "POST", "/models/test-connection", {"base_url": "http://127.0.0.1:1/v1", "upstream_model": "m"}
        ),
        ADMIN_ONLY,
    ),
    ("GET", "/api/v1/models/{name}"): (named("GET", "models", model_name), EVERYONE),
    ("GET", "/api/v1/models/{name}/runtime"): (
        named("GET", "models", lambda world, role, own: f"{world.model()}/runtime"),
        EVERYONE,
    ),
    ("PUT", "/api/v1/models/{name}"): (named("PUT", "models", model_name, MODEL_SPEC), ADMIN_ONLY),
    ("DELETE", "/api/v1/models/{name}"): (named("DELETE", "models", model_name), ADMIN_ONLY),
    ("GET", "/api/v1/credentials"): (fixed("GET", "/credentials"), READERS),
    ("GET", "/api/v1/credentials/{name}"): (named("GET", "credentials", credential_name), READERS),
    ("PUT", "/api/v1/credentials/{name}"): (
        named("PUT", "credentials", lambda w, r, o: w.fresh("c"), {"value": "sk-matrix"}),
        ADMIN_ONLY,
    ),
    ("DELETE", "/api/v1/credentials/{name}"): (named("DELETE", "credentials", credential_name), ADMIN_ONLY),
    ("GET", "/api/v1/policies"): (fixed("GET", "/policies"), EVERYONE),
    ("POST", "/api/v1/policies"): (
        fixed("POST", "/policies", lambda w, r, o: {"name": w.fresh("p")}),
        ADMIN_ONLY,
    ),
    ("GET", "/api/v1/policies/{name}"): (named("GET", "policies", policy_name), TENANT_READ),
    ("PUT", "/api/v1/policies/{name}"): (named("PUT", "policies", policy_name, {}), ADMIN_ONLY),
    ("DELETE", "/api/v1/policies/{name}"): (named("DELETE", "policies", policy_name), ADMIN_ONLY),
    ("GET", "/api/v1/users"): (fixed("GET", "/users"), EVERYONE),
    ("POST", "/api/v1/users"): (fixed("POST", "/users", lambda w, r, o: {"name": w.fresh("u")}), ADMIN_ONLY),
    ("GET", "/api/v1/users/{name}"): (named("GET", "users", user_name), TENANT_READ),
    ("GET", "/api/v1/users/{name}/quota"): (
        named("GET", "users", lambda w, r, o: f"{user_name(w, r, o)}/quota"),
        TENANT_READ,
    ),
    ("PUT", "/api/v1/users/{name}"): (named("PUT", "users", lambda w, r, o: w.user("ops"), {}), ADMIN_ONLY),
    ("DELETE", "/api/v1/users/{name}"): (named("DELETE", "users", lambda w, r, o: w.user("ops")), ADMIN_ONLY),
    ("POST", "/api/v1/users/{name}/view-as"): (
        named("POST", "users", lambda w, r, o: f"{user_name(w, r, o)}/view-as"),
        ADMIN_ONLY,
    ),
    ("GET", "/api/v1/groups"): (fixed("GET", "/groups"), EVERYONE),
    ("POST", "/api/v1/groups"): (
        fixed("POST", "/groups", lambda w, r, o: {"name": w.fresh("g")}),
        ADMIN_ONLY,
    ),
    ("GET", "/api/v1/groups/{name}"): (named("GET", "groups", group_name), TENANT_READ),
    ("PUT", "/api/v1/groups/{name}"): (named("PUT", "groups", fresh_group, {}), ADMIN_ONLY),
    ("DELETE", "/api/v1/groups/{name}"): (named("DELETE", "groups", fresh_group), ADMIN_ONLY),
    ("GET", "/api/v1/service-accounts"): (fixed("GET", "/service-accounts"), EVERYONE),
    ("POST", "/api/v1/service-accounts"): (
        fixed("POST", "/service-accounts", account_body),
        CREATE_IN_GROUP,
    ),
    ("GET", "/api/v1/service-accounts/{name}"): (
        named("GET", "service-accounts", account_name),
        {**TENANT_READ, "user": (HIDDEN, HIDDEN)},  # a plain user has no service accounts
    ),
    ("PUT", "/api/v1/service-accounts/{name}"): (
        named("PUT", "service-accounts", account_name, lambda w, r, o: {"group": "research" if o else "ops"}),
        GROUP_WRITE,
    ),
    ("DELETE", "/api/v1/service-accounts/{name}"): (
        named("DELETE", "service-accounts", account_name),
        GROUP_WRITE,
    ),
    ("GET", "/api/v1/usage/events"): (fixed("GET", "/usage/events"), EVERYONE),
    ("GET", "/api/v1/usage/limit-events"): (fixed("GET", "/usage/limit-events"), EVERYONE),
    ("GET", "/api/v1/usage/summary"): (fixed("GET", "/usage/summary?by=user"), EVERYONE),
    ("GET", "/api/v1/usage/timeseries"): (fixed("GET", "/usage/timeseries?range=7d"), EVERYONE),
    ("GET", "/api/v1/usage/top"): (fixed("GET", "/usage/top?dimension=key&metric=cost"), EVERYONE),
    ("GET", "/api/v1/usage/report"): (fixed("GET", "/usage/report?period=2026-11&by=costCenter"), EVERYONE),
    ("GET", "/api/v1/audit/events"): (fixed("GET", "/audit/events"), READERS),
    ("GET", "/api/v1/audit/events.csv"): (fixed("GET", "/audit/events.csv"), READERS),
    ("GET", "/api/v1/audit/head"): (fixed("GET", "/audit/head"), READERS),
    ("GET", "/api/v1/audit/verify"): (fixed("GET", "/audit/verify"), READERS),
    ("POST", "/api/v1/apply"): (fixed("POST", "/apply", {"documents": [], "dry_run": True}), ADMIN_ONLY),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    env = {
        "HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User",
        "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32",
        "HEADWATER_OIDC_AUDITOR_GROUPS": "auditors",
        "HEADWATER_SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",  # stored credentials
    }
    directory: Path = tmp_path_factory.mktemp("matrix")
    with database("sqlite", directory) as url:
        server = start_server(url, extra_env=env)
        apply(
            server,
            *(doc("Group", name) for name in ("devs", "ops", "auditors", "research")),
            doc("User", "alice", groups=["devs"]),
            doc("User", "bob", groups=["research"]),
            doc("User", "erin", groups=["ops"]),
            doc("User", "dave", groups=["auditors"]),
            doc("ServiceAccount", "research-bot", group="research"),
        )
        with server.admin() as admin:
            made = admin.put("/groups/research", json={"admins": ["bob"]})
            assert made.status_code == 200, made.text
            yield World(server, admin)
        stop(server.process)


def caller(world: World, role: str) -> httpx.Client:
    if role == "admin":
        return world.server.admin()
    headers = {"X-Forwarded-User": PERSON[role]}
    return httpx.Client(base_url=f"{world.server.url}/api/v1", headers=headers, timeout=30)


def outcome(response: httpx.Response) -> str:
    if response.status_code < 300:
        return OK
    return str(response.status_code)


def test_every_route_is_in_the_matrix(world: World) -> None:
    spec = world.admin.get("/openapi.json").json()
    routes = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }
    assert routes == set(MATRIX), (routes - set(MATRIX), set(MATRIX) - routes)


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda route: f"{route[0]} {route[1]}")
def test_role_by_route_by_tenant(world: World, route: tuple[str, str]) -> None:
    build, expected = MATRIX[route]
    failures = []
    for role in ROLES:
        for index, own in enumerate((True, False)):
            method, path, body = build(world, role, own)
            with caller(world, role) as client:
                response = client.request(method, path, json=body)
            got = outcome(response)
            if got != expected[role][index]:
                tenant = "own" if own else "other"
                failures.append(
                    f"{role}/{tenant}: {method} {path} → {response.status_code} {response.text[:160]}"
                )
            if got == HIDDEN:  # exactly what a missing object answers: nothing to probe with
                assert "not found" in response.json()["detail"], response.text
    assert not failures, "\n".join(failures)


def test_denials_are_audited(world: World) -> None:
    with caller(world, "user") as alice:
        assert alice.post("/models", json={"name": "nope"}).status_code == 403
        erin_key = world.key("user:erin")
        assert alice.get(f"/keys/{erin_key}").status_code == 404
    events = world.admin.get("/audit/events", params={"actor": "user:alice", "outcome": "denied"}).json()
    seen = {(event["action"], event["target_id"]) for event in events["items"]}
    assert ("model.create", "") in seen
    assert ("key.read", erin_key) in seen
