"""The admin API through HTTP: auth, validation with field paths, CRUD, pagination, usage queries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import openai
import pytest

from tests.support import Server, Sim, apply, create_key, model_doc, usage_events, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.admin() as client:
        yield client


def test_requires_the_admin_token(server: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = httpx.get(f"{server.url}/api/v1/keys", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "detail" in response.json()
    key = create_key(server)["key"]  # an API key is not an admin token
    assert (
        httpx.get(f"{server.url}/api/v1/keys", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    )


def test_openapi_and_docs_are_served(server: Server) -> None:
    spec = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    paths = [
        "keys",
        "keys/{key_id}/revoke",
        "models",
        "users",
        "groups",
        "service-accounts",
        "usage/events",
        "apply",
    ]
    for path in paths:
        assert f"/api/v1/{path}" in spec["paths"], path
    assert httpx.get(f"{server.url}/api/docs").status_code == 200


def test_validation_errors_name_the_field(admin: httpx.Client) -> None:
    response = admin.post("/keys", json={"name": "", "owner": "robot:x", "models": ["ok", "bad name!"]})
    assert response.status_code == 422
    locs = {tuple(item["loc"]) for item in response.json()["detail"]}
    assert ("body", "name") in locs and ("body", "owner") in locs and ("body", "models", 1) in locs
    response = admin.post(
        "/models", json={"name": "m", "deployments": [{"base_url": "not a url", "upstream_model": "x"}]}
    )
    assert response.status_code == 422
    assert ["body", "deployments", 0, "base_url"] in [item["loc"] for item in response.json()["detail"]]
    response = admin.post("/keys", json={"name": "k", "unexpected": 1})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "unexpected"]


def test_key_lifecycle(admin: httpx.Client, server: Server, sim: Sim) -> None:
    apply(server, model_doc("life-model", sim.url))
    admin.put("/groups/life", json={}).raise_for_status()
    admin.put("/users/lena", json={"email": "lena@example.com", "groups": ["life"]}).raise_for_status()
    created = admin.post(
        "/keys", json={"name": "ci", "owner": "user:lena", "models": ["life-model"], "expires_in": "30d"}
    )
    assert created.status_code == 201
    key = created.json()
    assert key["key"].startswith(f"hwk_{key['id']}_") and key["prefix"] == f"hwk_{key['id']}"
    expires = datetime.fromisoformat(key["expires_at"])
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)
    shown = admin.get(f"/keys/{key['id']}").json()
    assert "key" not in shown and "hash" not in shown  # the secret is returned exactly once
    assert shown["owner"] == "user:lena" and shown["created_by"] == "admin:bootstrap"

    updated = admin.patch(f"/keys/{key['id']}", json={"name": "ci-renamed", "status": "disabled"}).json()
    assert updated["name"] == "ci-renamed" and updated["status"] == "disabled"
    assert admin.patch(f"/keys/{key['id']}", json={"status": "active"}).json()["status"] == "active"
    with openai.OpenAI(base_url=server.v1, api_key=key["key"], max_retries=0) as sdk:
        sdk.chat.completions.create(model="life-model", messages=[{"role": "user", "content": "hi"}])
    revoked = admin.post(f"/keys/{key['id']}/revoke").json()
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    assert admin.patch(f"/keys/{key['id']}", json={"status": "active"}).status_code == 422
    assert admin.get("/keys/doesnotexist").status_code == 404
    assert admin.post("/keys/doesnotexist/revoke").status_code == 404


def test_key_creation_checks_owner_and_models(admin: httpx.Client) -> None:
    response = admin.post("/keys", json={"name": "x", "owner": "user:ghost"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "owner"]
    response = admin.post("/keys", json={"name": "x", "models": ["no-such-model"]})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "models", 0]
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert admin.post("/keys", json={"name": "x", "expires_at": past}).status_code == 422
    assert admin.post("/keys", json={"name": "x", "expires_in": "soon"}).status_code == 422


def test_key_list_filters_and_pagination(admin: httpx.Client, server: Server) -> None:
    admin.put("/groups/pager", json={}).raise_for_status()
    admin.put("/service-accounts/pager-bot", json={"group": "pager"}).raise_for_status()
    ids = [create_key(server, name=f"page-{n}", owner="serviceaccount:pager-bot")["id"] for n in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"owner": "serviceaccount:pager-bot", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = admin.get("/keys", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == list(reversed(ids))  # newest first, every key exactly once
    assert admin.get("/keys", params={"cursor": "garbage!"}).status_code == 422
    admin.post(f"/keys/{ids[0]}/revoke")
    revoked = admin.get("/keys", params={"owner": "serviceaccount:pager-bot", "status": "revoked"}).json()
    assert [item["id"] for item in revoked["items"]] == [ids[0]]


def test_deleting_an_owner_revokes_its_keys(admin: httpx.Client, server: Server) -> None:
    admin.put("/groups/temp", json={"cost_center": "CC-1"}).raise_for_status()
    admin.put("/service-accounts/temp-bot", json={"group": "temp", "description": "bot"}).raise_for_status()
    key = create_key(server, owner="serviceaccount:temp-bot")
    assert admin.delete("/groups/temp").status_code == 409  # still has a service account
    assert admin.delete("/service-accounts/temp-bot").status_code == 204
    assert admin.get(f"/keys/{key['id']}").json()["status"] == "revoked"
    assert admin.delete("/groups/temp").status_code == 204
    assert admin.get("/groups/temp").status_code == 404


def test_directory_crud(admin: httpx.Client) -> None:
    assert admin.post("/groups", json={"name": "crud", "description": "d"}).status_code == 201
    assert admin.post("/groups", json={"name": "crud"}).status_code == 409
    response = admin.post("/users", json={"name": "carl", "groups": ["crud", "missing"]})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "groups", 1]
    user = admin.post("/users", json={"name": "carl", "email": "carl@example.com", "groups": ["crud"]}).json()
    assert user["groups"] == ["crud"] and user["role"] == "user"
    assert "carl" in {u["name"] for u in admin.get("/users").json()["items"]}
    assert admin.put("/users/carl", json={"groups": []}).json()["groups"] == []
    assert admin.post("/users", json={"name": "bad", "email": "not-an-email"}).status_code == 422
    assert admin.delete("/users/carl").status_code == 204
    assert admin.delete("/users/carl").status_code == 404


def test_model_crud(admin: httpx.Client, sim: Sim) -> None:
    body = {
        "name": "crud-model",
        "kind": "chat",
        "pricing": {"input_per_million": "1.5", "output_per_million": "2", "currency": "EUR"},
        "deployments": [
            {
                "base_url": sim.url,
                "upstream_model": "x",
                "credential_env": "HEADWATER_UPSTREAM_SOME_KEY",
                "weight": 3,
            }
        ],
    }
    created = admin.post("/models", json=body)
    assert created.status_code == 201
    model = created.json()
    assert model["pricing"] == {"input_per_million": "1.5", "output_per_million": "2", "currency": "EUR"}
    assert model["deployments"][0]["credential_env"] == "HEADWATER_UPSTREAM_SOME_KEY"
    assert admin.post("/models", json=body).status_code == 409
    replaced = admin.put(
        "/models/crud-model", json={**body, "name": None, "kind": "completion"} | {"name": None}
    )
    assert replaced.status_code == 422  # name is not part of the spec
    spec = {k: v for k, v in body.items() if k != "name"}
    assert admin.put("/models/crud-model", json={**spec, "kind": "completion"}).json()["kind"] == "completion"
    assert admin.delete("/models/crud-model").status_code == 204
    assert admin.get("/models/crud-model").status_code == 404


def test_usage_events_filters_and_cursor(admin: httpx.Client, server: Server, sim: Sim) -> None:
    apply(server, model_doc("usage-a", sim.url), model_doc("usage-b", sim.url))
    admin.put("/users/uma", json={}).raise_for_status()
    uma = create_key(server, owner="user:uma")
    other = create_key(server)
    started = datetime.now(UTC)
    with openai.OpenAI(base_url=server.v1, api_key=uma["key"], max_retries=0) as sdk:
        for _ in range(3):
            sdk.chat.completions.create(model="usage-a", messages=[{"role": "user", "content": "hi"}])
        sdk.chat.completions.create(model="usage-b", messages=[{"role": "user", "content": "hi"}])
    with openai.OpenAI(base_url=server.v1, api_key=other["key"], max_retries=0) as sdk:
        sdk.chat.completions.create(model="usage-a", messages=[{"role": "user", "content": "hi"}])
    wait_for(lambda: len(usage_events(server, key_id=other["id"])) == 1)
    by_user = usage_events(server, user="uma")
    assert len(by_user) == 4 and {e["principal"] for e in by_user} == {"user:uma"}
    for item in by_user:
        assert {
            "prompt_tokens",
            "completion_tokens",
            "cost",
            "model",
            "key_id",
            "principal",
            "status",
        } <= set(item)
    assert len(usage_events(server, user="uma", model="usage-a")) == 3
    assert [e["principal"] for e in usage_events(server, key_id=other["id"])] == [f"key:{other['id']}"]
    assert len(usage_events(server, key_id=uma["id"], **{"from": started.isoformat()})) == 4
    assert usage_events(server, key_id=uma["id"], to=started.isoformat()) == []
    first = admin.get("/usage/events", params={"user": "uma", "limit": 2}).json()
    second = admin.get("/usage/events", params={"user": "uma", "limit": 2, "cursor": first["next"]}).json()
    assert second["next"] is None
    assert [e["id"] for e in first["items"] + second["items"]] == sorted(
        (e["id"] for e in by_user), reverse=True
    )
    assert admin.get("/usage/events", params={"from": "2026-01-01T00:00:00"}).status_code == 422
