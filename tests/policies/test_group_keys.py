"""Keys owned by a group, or by its service account, are governed by the group's policies (issue 9.3).

devs has a member dan, an administrator gina and a service account ci-bot. Each policy below targets
the group devs and covers one model. A call of ``[{"role": "user", "content": "hi"}]`` with
``max_tokens: 5`` counts 7 + 5 = 12 tokens and costs (0.20 × 7 + 0.60 × 5) / 1e6 = 0.0000044 USD.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support import (
    Server,
    Sim,
    apply,
    create_key,
    doc,
    model_doc,
    start_server,
    stop,
    usage_events,
    wait_for,
)

pytestmark = pytest.mark.e2e
HI = [{"role": "user", "content": "hi"}]


def devs_policy(name: str, model: str, **spec: Any) -> dict[str, Any]:
    return doc("Policy", name, targets={"groups": ["devs"]}, assets={"models": [model]}, **spec)


@pytest.fixture(scope="module")
def world(database_url: str, sim: Sim) -> Iterator[Server]:
    env = {
        "HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User,X-Forwarded-Groups",
        "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32",
    }
    server = start_server(database_url, extra_env=env)
    apply(
        server,
        doc("Group", "devs", admins=["gina"]),
        doc("User", "gina", groups=["devs"]),
        doc("User", "dan", groups=["devs"]),
        doc("ServiceAccount", "ci-bot", group="devs"),
        model_doc("gk-secret", sim.url, access="restricted"),
        model_doc("gk-other", sim.url, access="restricted"),
        model_doc("gk-tokens", sim.url),
        model_doc("gk-budget", sim.url),
        devs_policy("devs-secret", "gk-secret", limits=[{"requests": 3, "window": "1h", "scope": "key"}]),
        devs_policy("devs-tokens", "gk-tokens", limits=[{"tokens": 36, "window": "1h", "scope": "group"}]),
        devs_policy("devs-budget", "gk-budget", budget={"amount": "0.000022", "scope": "group"}),
    )
    yield server
    stop(server.process)


class Caller:
    def __init__(self, world: Server, owner: str) -> None:
        key = create_key(world, owner=owner)["key"]
        self.client = httpx.Client(base_url=world.v1, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def call(self, model: str) -> httpx.Response:
        body = {"model": model, "messages": HI, "max_tokens": 5}
        return self.client.post("/chat/completions", json=body)

    def status(self, model: str) -> int:
        return self.call(model).status_code


@pytest.fixture
def callers(world: Server) -> Iterator[dict[str, Caller]]:
    """A fresh key for the group, its service account and a member."""
    found = {who: Caller(world, who) for who in ("group:devs", "serviceaccount:ci-bot", "user:dan")}
    yield found
    for caller in found.values():
        caller.client.close()


def test_the_groups_grant_applies_to_its_keys(callers: dict[str, Caller]) -> None:
    for who in ("group:devs", "serviceaccount:ci-bot"):
        assert callers[who].status("gk-secret") == 200  # a restricted model the policy lists
        refused = callers[who].call("gk-other")  # one no policy of devs lists
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "model_not_allowed"


def test_a_per_key_request_limit_counts_each_key(callers: dict[str, Caller]) -> None:
    for who in ("group:devs", "serviceaccount:ci-bot", "user:dan"):
        assert [callers[who].status("gk-secret") for _ in range(3)] == [200, 200, 200]
        refused = callers[who].call("gk-secret")
        assert refused.status_code == 429 and refused.json()["error"]["type"] == "requests"
        assert "3 requests per 1h per key (policy devs-secret)" in refused.json()["error"]["message"]


def test_a_per_group_token_limit_is_shared_with_members(callers: dict[str, Caller]) -> None:
    order = ("group:devs", "serviceaccount:ci-bot", "user:dan")
    assert [callers[who].status("gk-tokens") for who in order] == [200, 200, 200]  # 3 × 12 = 36
    for who in order:
        refused = callers[who].call("gk-tokens")
        assert refused.status_code == 429 and refused.json()["error"]["type"] == "tokens"
        assert "per group (devs)" in refused.json()["error"]["message"]


def test_a_group_budget_counts_every_key_of_the_group(world: Server, callers: dict[str, Caller]) -> None:
    order = ("group:devs", "group:devs", "serviceaccount:ci-bot", "serviceaccount:ci-bot", "user:dan")
    assert [callers[who].status("gk-budget") for who in order] == [200] * 5  # 5 × 0.0000044 = 0.000022
    for who in ("group:devs", "serviceaccount:ci-bot", "user:dan"):
        refused = callers[who].call("gk-budget")
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "insufficient_quota"
    events = wait_for(
        lambda: (found := usage_events(world, model="gk-budget")) and len(found) == 5 and found, timeout=10
    )
    assert sorted(e["principal"] for e in events) == sorted(order)
    assert sum(Decimal(e["cost"]) for e in events) == Decimal("0.000022")


def test_a_group_admin_names_only_models_the_group_may_use(world: Server) -> None:
    headers = {"X-Forwarded-User": "gina", "X-Forwarded-Groups": "devs"}
    with httpx.Client(base_url=f"{world.url}/api/v1", headers=headers, timeout=30) as gina:
        allowed = gina.post("/keys", json={"name": "ci", "owner": "group:devs", "models": ["gk-secret"]})
        assert allowed.status_code == 201, allowed.text
        assert allowed.json()["owner"] == "group:devs"
        refused = gina.post("/keys", json={"name": "ci", "owner": "group:devs", "models": ["gk-other"]})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "models", 0]
    key = allowed.json()["key"]
    with httpx.Client(base_url=world.v1, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        body = {"model": "gk-secret", "messages": HI, "max_tokens": 5}
        assert client.post("/chat/completions", json=body).status_code == 200
