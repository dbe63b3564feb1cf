"""Self-service keys: users manage their own keys, within the admins' rules and their policies.

Callers are real users of a server behind a trusted gateway (`X-Forwarded-User` from 127.0.0.1);
the same rules hold for OIDC callers, whose sign-in is tested in tests/admin/test_signin.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openai
import pytest

from tests.support import Server, Sim, apply, doc, model_doc, start_server, stop

pytestmark = pytest.mark.e2e

RULES = {
    "HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User",
    "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32",
    "HEADWATER_KEYS_DEFAULT_EXPIRY": "7d",
    "HEADWATER_KEYS_MAX_EXPIRY": "30d",
    "HEADWATER_KEYS_MAX_ACTIVE_PER_USER": "3",
    "HEADWATER_KEYS_MAX_REQUESTS_PER_MINUTE": "60",
    "HEADWATER_KEYS_MAX_TOKENS_PER_MINUTE": "10000",
    "HEADWATER_KEYS_MAX_BUDGET": "50",
}


@pytest.fixture(scope="module")
def world(database_url: str, sim: Sim) -> Iterator[Server]:
    server = start_server(database_url, extra_env=RULES)
    apply(
        server,
        doc("Group", "devs"),
        doc("Group", "research"),
        doc("User", "alice", groups=["devs"]),
        doc("User", "bob", groups=["research"]),
        model_doc("open-model", sim.url),
        model_doc("secret-model", sim.url, access="restricted"),
        doc("Policy", "research", assets={"models": ["secret-model"]}, targets={"groups": ["research"]}),
    )
    yield server
    stop(server.process)


def as_user(server: Server, name: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v1", headers={"X-Forwarded-User": name}, timeout=30)


def problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    return detail if isinstance(detail, str) else " ".join(f"{d['loc']} {d['msg']}" for d in detail)


def test_a_user_creates_their_own_key_with_the_default_expiry(world: Server, sim: Sim) -> None:
    with as_user(world, "alice") as alice:
        created = alice.post("/keys", json={"name": "laptop", "models": ["open-model"]})
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["owner"] == "user:alice" and key["created_by"] == "user:alice"
    expires = datetime.fromisoformat(key["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=5)
    client = openai.OpenAI(base_url=world.v1, api_key=key["key"])
    reply = client.chat.completions.create(model="open-model", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content


def test_requests_beyond_the_maxima_are_422(world: Server) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"expires_in": "45d"}, "expires_in", "HEADWATER_KEYS_MAX_EXPIRY"),
        ({"limits": {"requests_per_minute": 61}}, "requests_per_minute", "at most 60"),
        ({"limits": {"tokens_per_minute": 10001}}, "tokens_per_minute", "at most 10000"),
        ({"limits": {"budget": {"amount": "50.01"}}}, "amount", "at most 50"),
        ({"models": ["secret-model"]}, "models", "do not give user:alice access to model 'secret-model'"),
        ({"models": ["no-such-model"]}, "models", "no-such-model"),
    ]
    with as_user(world, "alice") as alice:
        for body, field, words in cases:
            message = problem(alice.post("/keys", json={"name": "x", **body}), 422)
            assert field in message and words in message, (body, message)
        # within the maxima, and a model her policies allow
        within = {"expires_in": "30d", "limits": {"requests_per_minute": 60}, "models": ["open-model"]}
        assert alice.post("/keys", json={"name": "ok", **within}).status_code == 201
    with as_user(world, "bob") as bob:  # research's policy gives bob the restricted model
        assert bob.post("/keys", json={"name": "x", "models": ["secret-model"]}).status_code == 201


def test_the_number_of_live_keys_is_capped(world: Server) -> None:
    with as_user(world, "carl") as carl:  # a new user, provisioned by the trusted header
        ids = [carl.post("/keys", json={"name": f"k{i}"}).json()["id"] for i in range(3)]
        message = problem(carl.post("/keys", json={"name": "one too many"}), 422)
        assert "already has 3 active keys" in message
        assert carl.post(f"/keys/{ids[0]}/revoke").status_code == 200
        assert carl.post("/keys", json={"name": "replacement"}).status_code == 201


def test_users_see_and_manage_only_their_own_keys(world: Server) -> None:
    with as_user(world, "bob") as bob:
        bobs = bob.post("/keys", json={"name": "bob's"}).json()
    with as_user(world, "alice") as alice:
        assert problem(alice.post("/keys", json={"name": "x", "owner": "user:bob"}), 403)
        listed = alice.get("/keys", params={"limit": 500}).json()["items"]
        assert listed and {key["owner"] for key in listed} == {"user:alice"}
        assert alice.get("/keys", params={"owner": "user:bob"}).json()["items"] == []
        for method, path in [
            ("GET", f"/keys/{bobs['id']}"),
            ("PATCH", f"/keys/{bobs['id']}"),
            ("POST", f"/keys/{bobs['id']}/disable"),
            ("POST", f"/keys/{bobs['id']}/rotate"),
            ("POST", f"/keys/{bobs['id']}/revoke"),
        ]:
            response = alice.request(method, path, json={"name": "mine now"} if method == "PATCH" else None)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json() == {"detail": f"API key {bobs['id']} not found"}
        assert alice.get("/keys/nonexistent").json() == {"detail": "API key nonexistent not found"}
        assert alice.post("/keys/revoke", json={"user": "bob"}).status_code == 404
    with world.admin() as admin:
        assert admin.get(f"/keys/{bobs['id']}").json()["status"] == "active"
        denied = admin.get(
            "/audit/events", params={"actor": "user:alice", "target": bobs["id"], "outcome": "denied"}
        ).json()["items"]
    assert {event["action"] for event in denied} >= {"key.read", "key.update", "key.revoke", "key.rotate"}


def test_lifecycle_on_the_gateway(world: Server) -> None:
    def works(secret: str) -> bool:
        client = openai.OpenAI(base_url=world.v1, api_key=secret, max_retries=0)
        try:
            client.chat.completions.create(model="open-model", messages=[{"role": "user", "content": "x"}])
        except openai.AuthenticationError:
            return False
        return True

    with as_user(world, "bob") as bob:
        key = bob.post("/keys", json={"name": "lifecycle"}).json()
        assert works(key["key"])
        assert bob.post(f"/keys/{key['id']}/disable").json()["status"] == "disabled"
        assert not works(key["key"])
        assert bob.post(f"/keys/{key['id']}/enable").json()["status"] == "active"
        assert works(key["key"])
        rotated = bob.post(f"/keys/{key['id']}/rotate").json()
        assert rotated["id"] == key["id"] and rotated["key"] != key["key"]
        assert works(rotated["key"]) and not works(key["key"])
        assert bob.post(f"/keys/{key['id']}/revoke").json()["status"] == "revoked"
        assert not works(rotated["key"])
        assert bob.post(f"/keys/{key['id']}/enable").status_code == 409
        assert bob.post(f"/keys/{key['id']}/rotate").status_code == 409
    with world.admin() as admin:
        actions = [
            event["action"]
            for event in admin.get("/audit/events", params={"target": key["id"], "order": "asc"}).json()[
                "items"
            ]
        ]
    assert actions == ["key.create", "key.disable", "key.enable", "key.rotate", "key.revoke"]


def test_bulk_revoke_of_ones_own_keys_with_a_dry_run(world: Server) -> None:
    with as_user(world, "dana") as dana:
        made = {dana.post("/keys", json={"name": f"d{i}"}).json()["id"] for i in range(2)}
        dry = dana.post("/keys/revoke", json={"user": "dana", "dry_run": True}).json()
        assert dry["dry_run"] is True and {key["id"] for key in dry["keys"]} == made
        assert all(key["status"] == "active" for key in dana.get("/keys").json()["items"])
        done = dana.post("/keys/revoke", json={"user": "dana"}).json()
        assert done["count"] == 2 and {key["status"] for key in done["keys"]} == {"revoked"}
        assert dana.post("/keys/revoke", json={"user": "dana"}).json()["count"] == 0
        both = dana.post("/keys/revoke", json={"user": "dana", "group": "devs"})
        assert "exactly one of user, group or service_account" in problem(both, 422)


def test_admins_are_not_bound_by_the_self_service_rules(world: Server) -> None:
    body = {"name": "ops", "owner": "user:alice", "expires_in": "365d", "models": ["secret-model"]}
    with world.admin() as admin:
        created = admin.post("/keys", json=body)
    assert created.status_code == 201, created.text
