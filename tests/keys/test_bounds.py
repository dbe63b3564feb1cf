"""Absurd values on every key route are a 422 naming the field, never a 500 (SQLite and PostgreSQL).

Each value here gave a 500 (or a reset connection) before it had a bound: durations that overflow a
timedelta, an expiry in year 9999 (or one that overflows when turned into UTC), rates and budgets far
beyond a 64-bit counter, ``null`` for a field that cannot be empty, a scope of 40,000 models.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from headwater.names import MAX_DURATION, parse_duration
from headwater.settings import Settings
from tests.support import Server, apply, start_server, stop

pytestmark = pytest.mark.e2e

HUGE = 10**23

CREATE: list[tuple[dict[str, Any], list[str | int]]] = [
    ({"expires_in": "999999999999w"}, ["body", "expires_in"]),
    ({"expires_in": "36501d"}, ["body", "expires_in"]),
    ({"expires_in": "9" * 5000 + "d"}, ["body", "expires_in"]),
    ({"expires_at": "9999-12-31T23:59:59Z"}, ["body", "expires_at"]),
    ({"expires_at": "9999-12-31T23:59:59-05:00"}, ["body", "expires_at"]),
    ({"limits": {"requests_per_minute": HUGE}}, ["body", "limits", "requests_per_minute"]),
    ({"limits": {"tokens_per_minute": 10**12 + 1}}, ["body", "limits", "tokens_per_minute"]),
    ({"limits": {"budget": {"amount": "1000000000.01"}}}, ["body", "limits", "budget", "amount"]),
    ({"limits": {"budget": {"amount": str(HUGE)}}}, ["body", "limits", "budget", "amount"]),
    ({"models": [f"m{i}" for i in range(40000)]}, ["body", "models"]),
]
UPDATE: list[tuple[dict[str, Any], list[str | int]]] = [
    ({"name": None}, ["body", "name"]),
    ({"description": None}, ["body", "description"]),
    ({"status": None}, ["body", "status"]),
    ({"expires_at": "9999-12-31T23:59:59-05:00"}, ["body", "expires_at"]),
    ({"expires_at": "9999-12-31T23:59:59Z"}, ["body", "expires_at"]),
    ({"limits": {"requests_per_minute": HUGE}}, ["body", "limits", "requests_per_minute"]),
    ({"limits": {"budget": {"amount": str(HUGE)}}}, ["body", "limits", "budget", "amount"]),
]
ROTATE: list[tuple[dict[str, Any], list[str | int]]] = [
    ({"grace": "999999999999w"}, ["body", "grace"]),
    ({"grace": "99999999w"}, ["body", "grace"]),
    ({"grace": "25h"}, ["body", "grace"]),
]


@pytest.fixture(scope="module")
def world(database_url: str) -> Iterator[Server]:
    env = {"HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User", "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32"}
    server = start_server(database_url, extra_env=env)
    apply(server, {"apiVersion": "headwater/v1", "kind": "User", "metadata": {"name": "alice"}, "spec": {}})
    yield server
    stop(server.process)


def clients(world: Server) -> list[httpx.Client]:
    user = httpx.Client(base_url=f"{world.url}/api/v1", headers={"X-Forwarded-User": "alice"})
    return [world.admin(), user]


def test_absurd_values_are_422_naming_the_field(world: Server) -> None:
    with world.admin() as admin:
        key_id = admin.post("/keys", json={"name": "k", "owner": "user:alice"}).json()["id"]
    calls = [
        *(("POST", "/keys", {"name": "x", **body}, loc) for body, loc in CREATE),
        *(("PATCH", f"/keys/{key_id}", body, loc) for body, loc in UPDATE),
        *(("POST", f"/keys/{key_id}/rotate", body, loc) for body, loc in ROTATE),
    ]
    for client in clients(world):
        with client:
            client.timeout = httpx.Timeout(60)
            for method, path, body, loc in calls:
                response = client.request(method, path, json=body)
                assert response.status_code == 422, (method, path, str(body)[:80], response.text[:300])
                assert [error["loc"] for error in response.json()["detail"]] == [loc], response.text[:300]
            assert client.get(f"/keys/{key_id}").json()["name"] == "k"  # nothing was changed


def test_durations_are_bounded_at_100_years() -> None:
    assert timedelta(days=36500) == MAX_DURATION
    assert parse_duration("36500d") == timedelta(days=36500)
    assert parse_duration("5214w") == timedelta(weeks=5214)
    for text in ("36501d", "5215w", "999999999999w"):
        with pytest.raises(ValueError, match=r"is too long: at most 100 years \(36500d\)"):
            parse_duration(text)
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("9" * 5000 + "s")
    with pytest.raises(ValidationError, match="too long: at most 100 years"):
        Settings(keys_max_rotation_grace="999999999999w")
