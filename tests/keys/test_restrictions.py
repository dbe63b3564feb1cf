"""Owners only tighten what an admin set; self-service maxima fill what a key leaves out; the number of
live keys holds under concurrent creation. Through a real server on SQLite and on PostgreSQL.

Callers are users behind a trusted gateway (`X-Forwarded-User` from 127.0.0.1) and the admin token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support import Server, Sim, apply, model_doc, start_server, stop

pytestmark = pytest.mark.e2e

RULES = {
    "HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User",
    "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32",
    "HEADWATER_KEYS_MAX_ACTIVE_PER_USER": "5",
    "HEADWATER_KEYS_MAX_REQUESTS_PER_MINUTE": "60",
    "HEADWATER_KEYS_MAX_TOKENS_PER_MINUTE": "10000",
    "HEADWATER_KEYS_MAX_BUDGET": "50",
    "HEADWATER_KEYS_MAX_BUDGET_CURRENCY": "EUR",
}
MAXIMA = {
    "requests_per_minute": 60,
    "tokens_per_minute": 10000,
    "budget": {"amount": "50", "currency": "EUR", "period": "monthly"},
}


@pytest.fixture(scope="module")
def world(database_url: str, sim: Sim) -> Iterator[Server]:
    server = start_server(database_url, extra_env=RULES)
    user = {"apiVersion": "headwater/v1", "kind": "User", "metadata": {"name": "alice"}, "spec": {}}
    apply(server, user, *(model_doc(name, sim.url) for name in ("model-a", "model-b", "model-c")))
    yield server
    stop(server.process)


def as_user(server: Server, name: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v1", headers={"X-Forwarded-User": name}, timeout=30)


def error_at(response: httpx.Response) -> tuple[str, str]:
    """The dotted location and message of a 422's single error."""
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    return ".".join(str(part) for part in error["loc"]), error["msg"]


def restricted_key(world: Server, expires_at: datetime) -> dict[str, Any]:
    body = {
        "name": "given",
        "owner": "user:alice",
        "models": ["model-b", "model-a"],
        "expires_at": expires_at.isoformat(),
        "limits": {"requests_per_minute": 10, "budget": {"amount": "5", "currency": "EUR"}},
    }
    with world.admin() as admin:
        created = admin.post("/keys", json=body)
        assert created.status_code == 201, created.text
        disabled = admin.post(f"/keys/{created.json()['id']}/disable")
    assert disabled.status_code == 200, disabled.text
    key: dict[str, Any] = disabled.json()
    return key


def test_an_owner_only_tightens_what_an_admin_set(world: Server) -> None:
    expiry = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    key = restricted_key(world, expiry)
    assert key["restrictions"] == {
        "models": ["model-a", "model-b"],
        "expires_at": expiry.isoformat().replace("+00:00", "Z"),
        "limits": {
            "requests_per_minute": 10,
            "tokens_per_minute": None,
            "budget": {"amount": "5", "currency": "EUR", "period": "monthly"},
        },
        "disabled": True,
    }
    later = (expiry + timedelta(days=1)).isoformat()
    budget = {"amount": "5", "currency": "EUR"}
    rpm, amount = "body.limits.requests_per_minute", "body.limits.budget.amount"
    refused = [
        ({"limits": None}, rpm, "may not be removed: at most 10 (set by an admin)"),
        ({"limits": {"tokens_per_minute": 100, "budget": budget}}, rpm, "may not be removed"),
        ({"limits": {"requests_per_minute": 11, "budget": budget}}, rpm, "at most 10 (set by an admin)"),
        ({"limits": {"requests_per_minute": 10}}, "body.limits.budget", "may not be removed: at most 5 EUR"),
        (
            {"limits": {"requests_per_minute": 10, "budget": {**budget, "amount": "1", "period": "daily"}}},
            "body.limits.budget.period",
            "must stay monthly",
        ),
        (
            {"limits": {"requests_per_minute": 10, "budget": {**budget, "amount": "5.01"}}},
            amount,
            "at most 5 EUR monthly",
        ),
        ({"models": None}, "body.models", "may not be opened to every model"),
        ({"models": ["model-a", "model-c"]}, "body.models.1", "model 'model-c' is outside the models"),
        ({"expires_at": None}, "body.expires_at", "keep an expiry"),
        ({"expires_at": later}, "body.expires_at", "set by an admin"),
    ]
    with as_user(world, "alice") as alice:
        for body, where, words in refused:
            loc, message = error_at(alice.patch(f"/keys/{key['id']}", json=body))
            assert loc == where and words in message, (body, loc, message)
        enables = (
            alice.post(f"/keys/{key['id']}/enable"),
            alice.patch(f"/keys/{key['id']}", json={"status": "active"}),
        )
        for response in enables:
            assert response.status_code == 403, response.text
            assert response.json()["detail"] == (
                f"An admin disabled API key {key['id']}: only an admin can enable it again."
            )
        unchanged = alice.get(f"/keys/{key['id']}").json()
        assert (unchanged["limits"], unchanged["models"], unchanged["status"]) == (
            {"requests_per_minute": 10, "tokens_per_minute": None, "budget": {**budget, "period": "monthly"}},
            ["model-a", "model-b"],
            "disabled",
        )
        sooner = (expiry - timedelta(days=5)).isoformat()
        tighter = {
            "requests_per_minute": 5,
            "tokens_per_minute": 100,
            "budget": {"amount": "2", "currency": "EUR"},
        }
        body = {"models": ["model-a"], "expires_at": sooner, "limits": tighter}
        changed = alice.patch(f"/keys/{key['id']}", json=body)
        assert changed.status_code == 200, changed.text
        assert changed.json()["restrictions"] == key["restrictions"]  # still what the admin set

    with world.admin() as admin:
        assert admin.post(f"/keys/{key['id']}/enable").json()["restrictions"]["disabled"] is False
        lifted = admin.patch(f"/keys/{key['id']}", json={"limits": None, "models": None}).json()
    assert lifted["restrictions"]["limits"] is None and lifted["restrictions"]["models"] is None
    with as_user(world, "alice") as alice:
        assert alice.post(f"/keys/{key['id']}/disable").json()["status"] == "disabled"
        assert alice.post(f"/keys/{key['id']}/enable").json()["status"] == "active"  # she disabled it
        opened = alice.patch(
            f"/keys/{key['id']}", json={"models": None, "limits": {"requests_per_minute": 60}}
        )
        assert opened.status_code == 200, opened.text
        assert error_at(alice.patch(f"/keys/{key['id']}", json={"expires_at": None})) == (
            "body.expires_at",
            f"an admin set this key to expire at {expiry.isoformat()}: keep an expiry",
        )


def test_a_key_that_asks_for_no_limits_gets_the_maxima(world: Server) -> None:
    with as_user(world, "alice") as alice:
        made = alice.post("/keys", json={"name": "no limits"}).json()
        assert made["limits"] == MAXIMA and made["restrictions"] is None
        partial = alice.patch(f"/keys/{made['id']}", json={"limits": {"tokens_per_minute": 5}}).json()
        assert partial["limits"] == {**MAXIMA, "tokens_per_minute": 5}
        cleared = alice.patch(f"/keys/{made['id']}", json={"limits": None}).json()
        assert cleared["limits"] == MAXIMA
        assert alice.post(f"/keys/{made['id']}/revoke").status_code == 200

        def budget(amount: str, currency: str = "EUR", period: str = "monthly") -> dict[str, Any]:
            given = {"amount": amount, "currency": currency, "period": period}
            return {"name": "b", "limits": {"budget": given}}

        assert error_at(alice.post("/keys", json=budget("1", "USD"))) == (
            "body.limits.budget.currency",
            "self-service budgets are in EUR (HEADWATER_KEYS_MAX_BUDGET_CURRENCY)",
        )
        assert error_at(alice.post("/keys", json=budget("1.62", period="daily"))) == (
            "body.limits.budget.amount",
            "at most 50 EUR a month for a self-service key (HEADWATER_KEYS_MAX_BUDGET); "
            "a daily budget counts 31 times",
        )
        daily = alice.post("/keys", json=budget("1.61", period="daily"))
        assert daily.status_code == 201, daily.text
        assert daily.json()["limits"]["requests_per_minute"] == 60
        assert alice.post(f"/keys/{daily.json()['id']}/revoke").status_code == 200
    with world.admin() as admin:
        assert admin.post("/keys", json={"name": "ops", "owner": "user:alice"}).json()["limits"] is None


async def create_at_once(world: Server, user: str, count: int) -> list[httpx.Response]:
    headers = {"X-Forwarded-User": user}
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(
        base_url=f"{world.url}/api/v1", headers=headers, timeout=60, limits=limits
    ) as client:
        assert (await client.get("/me")).status_code == 200  # provisioned before the race
        return await asyncio.gather(*(client.post("/keys", json={"name": f"k{i}"}) for i in range(count)))


def test_the_most_live_keys_holds_under_concurrent_creation(world: Server) -> None:
    responses = asyncio.run(create_at_once(world, "racer", 40))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 5 + [422] * 35
    refused = next(response for response in responses if response.status_code == 422)
    assert error_at(refused) == (
        "body.owner",
        "user:racer already has 5 active keys, the most allowed (HEADWATER_KEYS_MAX_ACTIVE_PER_USER); "
        "revoke one first",
    )
    with world.admin() as admin:
        live = admin.get("/keys", params={"owner": "user:racer", "status": "active"}).json()["items"]
    assert len(live) == 5
