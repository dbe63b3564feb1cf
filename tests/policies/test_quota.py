"""How much is left (GET /keys/{id}/quota, GET /users/{name}/quota, `headwater quota`), through a real
server on the memory limiter (SQLite) and on Redis (PostgreSQL).

Calls go through the gateway with the OpenAI SDK (with a key) or trusted headers (without one); the
quota must show exactly what they consumed, and a remaining 0 must be exactly where the gateway
starts refusing. alice and gina are in `devs`, which gina administers; erin is in `ops`; bob (of the
test OIDC provider, in `research`) signs in with an access token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.limits.conftest import RedisServer
from tests.oidc_provider import OidcProvider, oidc_env
from tests.support import (
    Server,
    Sim,
    apply,
    cli,
    create_key,
    database,
    doc,
    free_port,
    model_doc,
    start_server,
    stop,
    wait_for,
)

pytestmark = pytest.mark.e2e

TRUSTED = {
    "HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User,X-Forwarded-Groups",
    "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32",
}
POLICY = "devs-quota"
KEY_LIMITS = {
    "requests_per_minute": 10,
    "tokens_per_minute": 50000,
    "budget": {"amount": "1.5", "currency": "USD", "period": "daily"},
}
INPUT_PRICE, OUTPUT_PRICE = Decimal("0.20"), Decimal("0.60")  # per million tokens (model_doc)


@pytest.fixture(
    scope="module",
    params=["memory", pytest.param("redis", marks=[pytest.mark.redis, pytest.mark.postgres])],
)
def world(
    request: pytest.FixtureRequest, sim: Sim, oidc: OidcProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    directory: Path = tmp_path_factory.mktemp("quota")
    redis = request.param == "redis"
    with database("postgres" if redis else "sqlite", directory) as url:
        server = start_server(url, extra_env={**TRUSTED, **oidc_env(oidc, sign_in=False)}, redis=redis)
        try:
            apply(
                server,
                doc("Group", "devs", admins=["gina"]),
                doc("Group", "ops"),
                doc("Group", "research"),
                doc(
                    "Policy",
                    "research-tier",
                    targets={"groups": ["research"]},
                    limits=[{"requests": 7, "window": "1h"}],
                ),
                doc("User", "alice", groups=["devs"]),
                doc("User", "gina", groups=["devs"]),
                doc("User", "erin", groups=["ops"]),
                model_doc("quota-model", sim.url, limits=[{"requests": 100, "window": "1h"}]),
                model_doc("plain-model", sim.url),
                model_doc("hidden-model", sim.url, access="restricted"),
                doc(
                    "Policy",
                    POLICY,
                    assets={"models": "all"},
                    targets={"groups": ["devs"]},
                    limits=[
                        {"requests": 4, "window": "1h", "scope": "user"},
                        {"tokens": 20000, "window": "1h", "scope": "user"},
                        {"outputTokens": 5000, "window": "1d", "scope": "key"},
                    ],
                    budget={"amount": "5.00", "currency": "USD", "period": "monthly", "scope": "user"},
                ),
            )
            yield server
        finally:
            stop(server.process)


def sdk(server: Server, key: dict[str, Any]) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key=key["key"], max_retries=0)


def ask(client: openai.OpenAI, model: str) -> Any:
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hello there"}], max_tokens=8
    )


def as_user(server: Server, name: str, group: str) -> httpx.Client:
    headers = {"X-Forwarded-User": name, "X-Forwarded-Groups": group}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def quota(client: httpx.Client, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def by_counter(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["description"]: item for item in found["items"]}


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def cost(prompt: int, completion: int) -> Decimal:
    return (INPUT_PRICE * prompt + OUTPUT_PRICE * completion) / 1_000_000


def test_the_quota_is_exactly_what_the_gateway_counted(world: Server) -> None:
    key = create_key(world, owner="user:alice", limits=KEY_LIMITS)
    kid = key["id"]
    path = f"/keys/{kid}/quota"
    with world.admin() as admin:
        fresh = quota(admin, path)
        assert fresh["principal"] == "user:alice" and fresh["key_id"] == kid and not fresh["degraded"]
        items = by_counter(fresh)
        per_user = f"4 requests per 1h per user (policy {POLICY})"
        assert list(items) == [
            f"4 requests per 1h per user (policy {POLICY})",
            f"20000 tokens per 1h per user (policy {POLICY})",
            f"5000 output tokens per 1d per key (policy {POLICY})",
            f"budget of 5.00 USD monthly per user (policy {POLICY})",
            f"10 requests per minute (key {kid})",
            f"50000 tokens per minute (key {kid})",
            f"budget of 1.5 USD daily (key {kid})",
            "100 requests per 1h for everyone (model quota-model capacity)",
        ]
        for item in fresh["items"]:
            assert item["used"] in (0, "0") and item["remaining"] == item["limit"]
            assert item["keys"] == [kid] and not item["token"] and not item["soft"]
        assert [i["source"] for i in fresh["items"]] == ["policy"] * 4 + ["key"] * 3 + ["model"]
        assert items[per_user]["models"] == ["plain-model", "quota-model"]  # not the restricted one
        assert items[per_user]["resets_at"] is None and items[per_user]["window_s"] == 3600
        budget = items[f"budget of 5.00 USD monthly per user (policy {POLICY})"]
        renewal = admin.get(f"/policies/{POLICY}").json()["nextRenewal"]
        assert Decimal(budget["limit"]) == Decimal("5.00") and budget["currency"] == "USD"
        assert budget["period"] == "monthly"
        assert at(budget["resets_at"]) == at(renewal) and budget["window_s"] is None
        assert at(budget["period_start"]) < time.time() < at(budget["resets_at"])

        started = time.time()
        with sdk(world, key) as alice:
            usage = [ask(alice, "quota-model").usage for _ in range(3)]
        prompt = sum(u.prompt_tokens for u in usage)
        completion = sum(u.completion_tokens for u in usage)
        spent = sum((cost(u.prompt_tokens, u.completion_tokens) for u in usage), Decimal(0))
        tokens = prompt + completion
        tokens_item = f"20000 tokens per 1h per user (policy {POLICY})"
        wait_for(lambda: by_counter(quota(admin, path))[tokens_item]["used"] == tokens)  # all settled
        after = quota(admin, path)
        items = by_counter(after)
        expected = {
            per_user: (3, 1),
            tokens_item: (tokens, 20000 - tokens),
            f"5000 output tokens per 1d per key (policy {POLICY})": (completion, 5000 - completion),
            f"budget of 5.00 USD monthly per user (policy {POLICY})": (spent, Decimal("5.00") - spent),
            f"10 requests per minute (key {kid})": (3, 7),
            f"50000 tokens per minute (key {kid})": (tokens, 50000 - tokens),
            f"budget of 1.5 USD daily (key {kid})": (spent, Decimal("1.5") - spent),
            "100 requests per 1h for everyone (model quota-model capacity)": (3, 97),
        }
        for name, (used, remaining) in expected.items():
            item = items[name]
            if isinstance(used, Decimal):
                assert (Decimal(item["used"]), Decimal(item["remaining"])) == (used, remaining), name
            else:
                assert (item["used"], item["remaining"]) == (used, remaining), name
        assert spent > 0 and items[per_user]["models"] == ["plain-model", "quota-model"]
        # Rolling windows free their oldest bucket (1 min of a 1 h window, 1 s of a minute) at the
        # window's end; a daily budget renews at midnight UTC.
        assert started + 3540 - 1 <= at(items[per_user]["resets_at"]) <= started + 3600 + 1
        key_rate = items[f"10 requests per minute (key {kid})"]
        assert started + 59 - 1 <= at(key_rate["resets_at"]) <= time.time() + 60
        assert at(key_rate["resets_at"]) <= at(key_rate["empty_at"]) <= time.time() + 60
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        assert at(items[f"budget of 1.5 USD daily (key {kid})"]["resets_at"]) == midnight.timestamp()

        # One request left: the next call is admitted, and then the gateway refuses exactly there.
        with sdk(world, key) as alice:
            ask(alice, "plain-model")
            assert by_counter(quota(admin, path))[per_user]["remaining"] == 0
            with pytest.raises(openai.RateLimitError) as refused:
                ask(alice, "plain-model")
        assert per_user in refused.value.message
        time.sleep(0.2)
        final = by_counter(quota(admin, path))
        assert (final[per_user]["used"], final[per_user]["remaining"]) == (4, 0)
        assert final[f"10 requests per minute (key {kid})"]["used"] == 4  # a refusal reserves nothing
        assert final["100 requests per 1h for everyone (model quota-model capacity)"]["used"] == 3


def test_a_users_quota_covers_their_calls_with_and_without_keys(world: Server) -> None:
    key = create_key(world, owner="user:gina", limits={"requests_per_minute": 2})
    gone = create_key(world, owner="user:gina")
    with world.admin() as admin:
        assert admin.post(f"/keys/{gone['id']}/revoke").status_code == 200
    with sdk(world, key) as gina:
        ask(gina, "plain-model")
        ask(gina, "plain-model")
        with pytest.raises(openai.RateLimitError) as refused:  # the key's own 2 a minute
            ask(gina, "plain-model")
    assert f"2 requests per minute (key {key['id']})" in refused.value.message
    body = {"model": "plain-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    with as_user(world, "gina", "devs") as gateway:
        assert gateway.post("/v1/chat/completions", json=body).status_code == 200
    with world.admin() as admin:
        found = quota(admin, "/users/gina/quota")
    assert found["principal"] == "user:gina" and found["key_id"] is None
    items = by_counter(found)
    shared = items[f"4 requests per 1h per user (policy {POLICY})"]
    assert (shared["used"], shared["remaining"]) == (3, 1)
    assert shared["keys"] == [key["id"]] and shared["token"]  # the revoked key is not counted
    own = items[f"2 requests per minute (key {key['id']})"]
    assert (own["used"], own["remaining"], own["keys"], own["token"]) == (2, 0, [key["id"]], False)
    per_key = [i for i in found["items"] if i["description"].startswith("5000 output tokens per 1d per key")]
    assert sorted((i["keys"], i["token"]) for i in per_key) == [([], True), ([key["id"]], False)]
    assert all(i["models"] == ["plain-model", "quota-model"] for i in per_key)


def test_tenancy_is_that_of_reading_the_key_or_the_user(world: Server) -> None:
    alices = create_key(world, owner="user:alice")["id"]
    ginas = create_key(world, owner="user:gina")["id"]
    with as_user(world, "erin", "ops") as erin, as_user(world, "alice", "devs") as alice:
        for path in (
            f"/keys/{alices}/quota",
            "/users/alice/quota",
            "/keys/nope/quota",
            "/users/nobody/quota",
        ):
            response = erin.get(f"/api/v1{path}")
            assert response.status_code == 404 and "not found" in response.json()["detail"], path
        assert alice.get(f"/api/v1/keys/{alices}/quota").status_code == 200
        assert alice.get("/api/v1/users/alice/quota").status_code == 200
        assert alice.get(f"/api/v1/keys/{ginas}/quota").status_code == 404
        assert alice.get("/api/v1/users/gina/quota").status_code == 404
        # No policy targets her: only the capacity of the model everyone shares limits her calls.
        (only,) = erin.get("/api/v1/users/erin/quota").json()["items"]
        assert (only["source"], only["models"], only["keys"], only["token"]) == (
            "model",
            ["quota-model"],
            [],
            True,
        )
    with as_user(world, "gina", "devs") as gina:  # she administers devs: she sees alice's
        assert gina.get(f"/api/v1/keys/{alices}/quota").json()["principal"] == "user:alice"
        assert gina.get("/api/v1/users/alice/quota").status_code == 200


def test_the_cli_shows_the_same_figures(world: Server) -> None:
    key = create_key(world, owner="user:alice")
    with world.admin() as admin:
        api = quota(admin, f"/keys/{key['id']}/quota")
    shown = cli("quota", "--key", key["id"], "--json", env=world.cli_env())
    assert shown.returncode == 0, shown.stderr
    printed = json.loads(shown.stdout)
    assert {**printed, "checked_at": None} == {**api, "checked_at": None}

    table = cli("quota", "--user", "alice", env=world.cli_env())
    assert table.returncode == 0, table.stderr
    assert "Quota of user:alice" in table.stdout and "5.00 USD" in table.stdout and "monthly" in table.stdout
    assert "1h" in table.stdout and "calls without a key" in table.stdout
    free = create_key(world, models=["plain-model"])["id"]  # no owner, no policy, no capacity limit
    nothing = cli("quota", "--key", free, env=world.cli_env())
    assert nothing.returncode == 0 and f"No limit applies to key {free} (key:{free})." in nothing.stdout

    for args, message in (
        ((), "no quota of its own"),  # the admin token is nobody's
        (("--key", key["id"], "--user", "alice"), "not both"),
        (("--user", "nobody"), "user nobody not found"),
    ):
        refused = cli("quota", *args, env=world.cli_env())
        assert refused.returncode == 1 and message in refused.stderr, args


@pytest.mark.redis
@pytest.mark.parametrize("mode", ["open", "closed"])
def test_with_redis_down_the_quota_shows_what_is_enforced(mode: str, tmp_path: Path, sim: Sim) -> None:
    """Fail-open: the per-process fallback counters, which admit calls meanwhile, marked degraded.
    Fail-closed: every call is refused, and so is the quota read (503)."""
    own = RedisServer(free_port())
    own.start()
    env = {"HEADWATER_REDIS_URL": own.url, "HEADWATER_LIMITS_FAIL": mode}
    limit = "10 requests per 1h per user (policy ann-tier)"
    try:
        with database("sqlite", tmp_path) as url:
            server = start_server(url, extra_env=env)
            try:
                apply(
                    server,
                    doc("User", "ann"),
                    model_doc("m", sim.url),
                    doc(
                        "Policy",
                        "ann-tier",
                        targets={"users": ["ann"]},
                        limits=[{"requests": 10, "window": "1h"}],
                    ),
                )
                key = create_key(server, owner="user:ann")
                path = f"/keys/{key['id']}/quota"
                with sdk(server, key) as ann, server.admin() as admin:
                    ask(ann, "m")
                    found = quota(admin, path)
                    assert not found["degraded"] and by_counter(found)[limit]["used"] == 1
                    own.stop()
                    if mode == "closed":
                        refused = admin.get(path)
                        assert refused.status_code == 503, refused.text
                        assert "shared limiter is unreachable" in refused.json()["detail"]
                        return
                    found = quota(admin, path)
                    assert found["degraded"] and by_counter(found)[limit]["used"] == 0  # starts empty
                    ask(ann, "m")  # admitted and counted by the fallback
                    found = quota(admin, path)
                    assert found["degraded"] and by_counter(found)[limit]["used"] == 1
            finally:
                stop(server.process)
    finally:
        own.stop()


def test_a_user_reads_their_own_quota_with_the_cli(world: Server, oidc: OidcProvider) -> None:
    token = oidc.access_token("bob", "bob-pw")
    env = {"HEADWATER_URL": world.url, "HEADWATER_TOKEN": token}
    limit = "7 requests per 1h per user (policy research-tier)"

    def mine() -> dict[str, Any]:
        shown = cli("quota", "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        found: dict[str, Any] = json.loads(shown.stdout)
        return found

    # bob is provisioned (in `research`, from his token) on first sight; his tier follows.
    found = wait_for(lambda: (found := mine()) and limit in by_counter(found) and found, timeout=10)
    assert found["principal"] == "user:bob" and found["key_id"] is None
    assert by_counter(found)[limit]["used"] == 0
    body = {"model": "plain-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    with httpx.Client(base_url=world.v1, headers={"Authorization": f"Bearer {token}"}, timeout=30) as bob:
        assert bob.post("/chat/completions", json=body).status_code == 200
    item = by_counter(mine())[limit]
    assert (item["used"], item["remaining"], item["keys"], item["token"]) == (1, 6, [], True)
    table = cli("quota", env=env)
    assert table.returncode == 0 and "Quota of user:bob" in table.stdout, table.stderr
