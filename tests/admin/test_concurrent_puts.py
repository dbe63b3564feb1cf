"""Create-or-replace calls racing on one new name all succeed: one creates, the others replace.

Between reading "no such user" and inserting it, a concurrent change (another PUT, or the gateway
creating the user of a token it sees first) can insert the same name; the loser's insert then fails
on the unique key. That was a 500; the change is now tried again and becomes a replace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support import Server

pytestmark = pytest.mark.e2e

RACERS = 16


async def race(server: Server, request: Callable[[httpx.AsyncClient, int], Any]) -> list[int]:
    headers = {"Authorization": f"Bearer {server.token}"}
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", headers=headers, timeout=60) as client:
        answers = await asyncio.gather(*(request(client, n) for n in range(RACERS)))
    return [answer.status_code for answer in answers]


@pytest.mark.parametrize(
    ("kind", "collection", "body"),
    [
        ("user", "users", {"display_name": "Racer {n}"}),
        ("group", "groups", {"description": "put {n}"}),
        ("policy", "policies", {"description": "put {n}", "assets": {"models": "all"}}),
    ],
)
def test_concurrent_puts_of_a_new_name_all_succeed(
    server: Server, kind: str, collection: str, body: dict[str, Any]
) -> None:
    name = f"racer-{kind}"

    def put(client: httpx.AsyncClient, n: int) -> Any:
        payload = {k: (v.format(n=n) if isinstance(v, str) else v) for k, v in body.items()}
        return client.put(f"/{collection}/{name}", json=payload)

    statuses = asyncio.run(race(server, put))
    assert statuses == [200] * RACERS, statuses
    with server.admin() as admin:
        assert admin.get(f"/{collection}/{name}").status_code == 200
        events = admin.get("/audit/events", params={"target": name, "limit": 100}).json()["items"]
    assert [e["action"] for e in events].count(f"{kind}.create") == 1
