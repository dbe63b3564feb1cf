"""Policies through real processes: access, hard and soft limits, budgets, schedules, headers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from tests.support import Server, Sim, apply, create_key, doc, model_doc, usage_events, wait_for

pytestmark = pytest.mark.e2e
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def policy(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "headwater/v1", "kind": "Policy", "metadata": {"name": name}, "spec": spec}


@pytest.fixture(scope="module")
def world(server: Server, sim: Sim) -> Iterator[Server]:
    apply(
        server,
        doc("Group", "devs"),
        doc("Group", "research"),
        doc("User", "alice", groups=["devs"]),
        doc("User", "rita", groups=["research"]),
        doc("User", "sam", groups=["devs"]),
        doc("User", "tess"),
        doc("User", "bud", groups=["research"]),
        doc("User", "nina"),
        model_doc("open-model", sim.url),
        model_doc("secret-model", sim.url, access="restricted"),
        model_doc("shared-gpu", sim.url, limits=[{"requests": 3, "window": "1h"}]),
        policy(
            "devs-standard",
            assets={"models": ["open-model"]},
            targets={"groups": ["devs"]},
            limits=[{"requests": 3, "window": "1h", "scope": "user"}],
            priority=10,
        ),
        policy(
            "research-restricted",
            assets={"models": ["secret-model"]},
            targets={"groups": ["research"]},
        ),
        policy(
            "soft-tier",
            assets={"models": "all"},
            targets={"users": ["sam"]},
            limits=[{"requests": 1, "window": "1h"}],
            overLimit="soft",
            priority=20,
        ),
        policy(
            "tokens-tier",
            assets={"models": "all"},
            targets={"users": ["tess"]},
            limits=[{"tokens": 120, "window": "1h"}],
        ),
        policy(
            "budget-tier",
            assets={"models": ["open-model"]},
            targets={"users": ["bud"]},
            budget={"amount": "0.0001", "currency": "USD", "period": "monthly"},
            priority=5,
        ),
        policy(
            "closed-today",
            assets={"models": "all"},
            targets={"users": ["nina"]},
            schedule={"days": [d for d in DAYS if d != DAYS[datetime.now(UTC).weekday()]], "timezone": "UTC"},
        ),
    )
    yield server


def client(server: Server, owner: str, **key: Any) -> openai.OpenAI:
    created = create_key(server, owner=owner, **key)
    return openai.OpenAI(base_url=server.v1, api_key=created["key"], max_retries=0)


def ask(sdk: openai.OpenAI, model: str = "open-model", **extra: Any) -> Any:
    return sdk.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hello there"}], max_tokens=8, **extra
    )


def test_restricted_model_needs_a_policy_that_lists_it(world: Server) -> None:
    with client(world, "user:rita") as rita, client(world, "user:alice") as alice:
        assert ask(rita, "secret-model").parse().choices
        with pytest.raises(openai.PermissionDeniedError) as denied:
            ask(alice, "secret-model")
        assert denied.value.body["code"] == "model_not_allowed"  # type: ignore[index]
    scoped = create_key(world, owner="user:rita", models=["open-model"])
    with (
        openai.OpenAI(base_url=world.v1, api_key=scoped["key"], max_retries=0) as narrowed,
        pytest.raises(openai.PermissionDeniedError),  # a key's scope narrows, never widens
    ):
        ask(narrowed, "secret-model")


def test_hard_request_limit_with_openai_headers(world: Server) -> None:
    with client(world, "user:alice") as alice:
        remaining = []
        for _ in range(3):
            response = ask(alice)
            assert response.headers["x-ratelimit-limit-requests"] == "3"
            remaining.append(int(response.headers["x-ratelimit-remaining-requests"]))
            assert response.headers["x-ratelimit-reset-requests"]
        assert remaining == [2, 1, 0]
        with pytest.raises(openai.RateLimitError) as refused:
            ask(alice)
        error = refused.value
        assert error.body["code"] == "rate_limit_exceeded"  # type: ignore[index]
        assert "3 requests per 1h per user (policy devs-standard)" in error.message
        assert int(error.response.headers["retry-after"]) >= 1
        assert error.response.headers["x-ratelimit-remaining-requests"] == "0"
        for _ in range(5):  # /v1/models is never rate limited
            assert alice.models.list().data
    # a second key of the same user shares the per-user counter
    with client(world, "user:alice") as again, pytest.raises(openai.RateLimitError):
        ask(again)
    with client(world, "user:sam") as other_group_member:  # sam's tier is another (higher) policy
        assert ask(other_group_member).parse().choices


def test_soft_limit_warns_and_records_a_limit_event(world: Server) -> None:
    with client(world, "user:sam") as sam:
        ask(sam)
        second = ask(sam)
        assert second.http_response.status_code == 200
        assert "1 requests per 1h per user (policy soft-tier)" in second.headers["x-headwater-limit-warning"]
    with world.admin() as admin:
        events = wait_for(
            lambda: admin.get("/usage/limit-events", params={"principal": "user:sam"}).json()["items"],
            timeout=5,
        )
    assert events[0]["action"] == "warned" and events[0]["policy"] == "soft-tier"


def test_token_limit_stops_a_streaming_user(world: Server) -> None:
    with client(world, "user:tess") as tess:
        admitted = 0
        with pytest.raises(openai.RateLimitError) as refused:
            for _ in range(20):
                stream = tess.chat.completions.create(
                    model="open-model",
                    messages=[{"role": "user", "content": "hello"}],
                    stream=True,
                    max_tokens=30,
                )
                for _chunk in stream:
                    pass
                admitted += 1
        assert 1 <= admitted < 20
        assert refused.value.body["type"] == "tokens"  # type: ignore[index]
    tess_events = wait_for(
        lambda: (found := usage_events(world, user="tess")) and len(found) == admitted and found
    )
    total = sum(e["prompt_tokens"] + e["completion_tokens"] for e in tess_events)
    assert total <= 120  # settled with the real streamed usage, never over the limit
    assert all(e["streamed"] and not e["estimated"] for e in tess_events)


def test_budget_refuses_with_insufficient_quota_and_reconciles(world: Server) -> None:
    admitted = 0
    with client(world, "user:bud") as bud:
        with pytest.raises(openai.RateLimitError) as refused:
            for _ in range(100):
                ask(bud)
                admitted += 1
        assert refused.value.body["code"] == "insufficient_quota"  # type: ignore[index]
        assert refused.value.body["type"] == "insufficient_quota"  # type: ignore[index]
    assert admitted > 0
    events = wait_for(lambda: (found := usage_events(world, user="bud")) and len(found) == admitted and found)
    spent = sum(Decimal(e["cost"]) for e in events)
    assert Decimal("0.00009") <= spent <= Decimal("0.0001")  # reconciles with the usage events
    with world.admin() as admin:
        read = admin.get("/policies/budget-tier").json()
    renewal = datetime.fromisoformat(read["nextRenewal"])
    assert renewal > datetime.now(UTC) and renewal.day == 1


def test_outside_the_schedule_is_refused_with_the_window(world: Server) -> None:
    with client(world, "user:nina") as nina, pytest.raises(openai.PermissionDeniedError) as refused:
        ask(nina)
    assert refused.value.body["code"] == "outside_schedule"  # type: ignore[index]
    assert "00:00–24:00 UTC" in refused.value.message and "closed-today" in refused.value.message


def test_key_limits_and_model_capacity(world: Server) -> None:
    with client(world, "user:rita", limits={"requests_per_minute": 2}) as limited:
        ask(limited)
        ask(limited)
        with pytest.raises(openai.RateLimitError) as refused:
            ask(limited)
        assert "(key " in refused.value.message
    with client(world, "user:rita") as one, client(world, "user:alice") as two:
        ask(one, "shared-gpu")
        ask(two, "shared-gpu")
        ask(one, "shared-gpu")
        with pytest.raises(openai.RateLimitError) as refused:
            ask(two, "shared-gpu")
        assert "model shared-gpu capacity" in refused.value.message


def test_policy_admin_api_and_validation(world: Server) -> None:
    with world.admin() as admin:
        listed = {p["name"] for p in admin.get("/policies").json()["items"]}
        assert {"devs-standard", "soft-tier", "budget-tier"} <= listed
        bad = admin.put("/policies/x", json={"targets": {"groups": ["nobody"]}})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "targets", "groups", 0]
        bad = admin.put("/policies/x", json={"limits": [{"window": "1m"}]})
        assert bad.status_code == 422
        bad = admin.put("/policies/x", json={"schedule": {"timezone": "Mars/Olympus"}})
        assert bad.status_code == 422 and "timezone" in str(bad.json())
        assert admin.put("/policies/x", json={"description": "empty"}).status_code == 200
        assert admin.delete("/policies/x").status_code == 204
    with httpx.Client() as plain:
        assert plain.get(f"{world.url}/api/v1/policies").status_code == 401


def test_policies_cli(world: Server) -> None:
    from tests.support import cli

    env = world.cli_env()
    created = cli(
        "policies", "create", "cli-tier", "--group", "devs", "--requests", "100", "--window", "1h",
        "--budget", "25.00", "--priority", "-5", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    listed = cli("policies", "list", env=env)
    assert "cli-tier" in listed.stdout and "100 requests / 1h per user" in listed.stdout
    shown = cli("policies", "show", "cli-tier", "--json", env=env)
    assert '"amount": "25.00"' in shown.stdout and '"nextRenewal"' in shown.stdout
    duplicate = cli("policies", "create", "cli-tier", env=env)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    assert cli("policies", "delete", "cli-tier", env=env).returncode == 0
    assert cli("policies", "show", "cli-tier", env=env).returncode == 1
