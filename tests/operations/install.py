"""A Headwater install with something in every part that must survive a move: models (one behind a
stored, encrypted credential), users, groups, a policy, keys, usage from real calls, the audit chain."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from headwater.catalog.secret_box import generate_key
from tests.support import Server, Sim, apply, cli, create_key, doc, model_doc, usage_events, wait_for

CALLS = 3


@dataclass
class Install:
    keys: dict[str, str]  # model -> a key's secret that may call it
    secret_key: str  # HEADWATER_SECRET_KEY: the server on the copy or the restore needs the same


def secret_env() -> dict[str, str]:
    return {"HEADWATER_SECRET_KEY": generate_key()}


def chat(server: Server, key: str, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 5}
    with httpx.Client(base_url=server.v1, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        return client.post("/chat/completions", json=body)


def populate(server: Server, sim: Sim) -> Install:
    """Fill ``server`` (started with :func:`secret_env`); every call made is in its usage."""
    with server.admin() as admin:
        stored = admin.put("/credentials/sim-cred", json={"value": "sk-sim-5f2a", "description": "sim"})
        assert stored.status_code == 201, stored.text
    apply(
        server,
        model_doc("plain", sim.url),
        model_doc("sealed", sim.url, deployment={"credential": "sim-cred"}),
        doc("Group", "team"),
        doc("User", "ann", groups=["team"]),
        doc("Policy", "standard", targets={"groups": ["team"]}, assets={"models": "all"}),
    )
    keys = {
        "plain": create_key(server, name="ann-key", owner="user:ann")["key"],
        "sealed": create_key(server, name="service", models=["sealed"])["key"],
    }
    for model, key in keys.items():
        for _ in range(CALLS):
            answered = chat(server, key, model)
            assert answered.status_code == 200, answered.text
    wait_for(lambda: len(usage_events(server)) == CALLS * len(keys), timeout=15)
    return Install(keys, server.env["HEADWATER_SECRET_KEY"])


def usage_totals(server: Server) -> dict[str, Any]:
    """Events, tokens and cost per currency, as the admin API reports them."""
    events = usage_events(server)
    cost: dict[str, Decimal] = {}
    for event in events:
        cost[event["currency"]] = cost.get(event["currency"], Decimal(0)) + Decimal(str(event["cost"]))
    return {
        "ids": sorted(event["id"] for event in events),
        "prompt_tokens": sum(event["prompt_tokens"] for event in events),
        "completion_tokens": sum(event["completion_tokens"] for event in events),
        "cost": {currency: amount.normalize() for currency, amount in cost.items()},
    }


def audit_verified(server: Server) -> str:
    """``headwater audit verify`` against ``server``: its output, asserted successful."""
    done = cli("audit", "verify", env=server.cli_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit chain intact" in done.stdout
    return done.stdout.splitlines()[0]


def audit_head(server: Server) -> dict[str, Any]:
    with server.admin() as admin:
        head: dict[str, Any] = admin.get("/audit/head").json()
        return head
