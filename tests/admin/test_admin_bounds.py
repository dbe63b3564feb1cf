"""No admin route answers 500 to absurd input: each bound is a 422 naming the field.

Against a real `headwater serve`, on SQLite and on PostgreSQL (which refuses NUL characters in
text, integers past 64 bits and dates past year 9999 where SQLite is lenient). First a table of
hostile values with the exact answer each must get; then a sweep of every admin route with a
battery of hostile values, where the only rule is: never a 5xx.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import Server

pytestmark = pytest.mark.e2e

BIG = 10**23
DEEP = b"[" * 1000 + b"]" * 1000
LATE = "9999-12-31T23:59:59-14:00"  # year 10000 in UTC
EARLY = "0001-01-01T00:00:00+14:00"  # year 0 in UTC
TOO_MANY = [f"g{n}" for n in range(1001)]
HUGE_LIMIT = {"requests": BIG, "window": "1m"}


def cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "headwater/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.admin() as client:
        for path, body in (
            ("/groups", {"name": "bounds-team"}),
            ("/users", {"name": "bounds-user", "groups": ["bounds-team"]}),
        ):
            assert client.post(path, json=body).status_code == 201
        yield client


# (method, path, request arguments, the loc the 422 must name)
CASES: list[tuple[str, str, dict[str, Any], list[Any]]] = [
    ("POST", "/policies", {"json": {"name": "p1", "limits": [{"requests": BIG, "window": "1m"}]}},
     ["body", "limits", 0, "requests"]),
    ("POST", "/policies", {"json": {"name": "p1", "limits": [{"tokens": 10**12 + 1, "window": "1h"}]}},
     ["body", "limits", 0, "tokens"]),
    ("POST", "/policies", {"json": {"name": "p1", "budget": {"amount": "1000000000.01"}}},
     ["body", "budget", "amount"]),
    ("PUT", "/policies/p1", {"json": {"schedule": {"days": ["mon", "mon"]}}}, ["body", "schedule", "days"]),
    ("PUT", "/policies/p1", {"json": {"priority": BIG}}, ["body", "priority"]),
    ("PUT", "/policies/p1", {"json": {"budget": {"amount": "5", "renewsOn": BIG}}},
     ["body", "budget", "renewsOn"]),
    ("PUT", "/policies/p1", {"json": {"targets": {"groups": [f"g{n}" for n in range(1001)]}}},
     ["body", "targets", "groups"]),
    ("PUT", "/policies/p1", {"json": {"description": "a\x00b"}}, ["body", "description"]),
    ("POST", "/users", {"json": {"name": "u1", "groups": TOO_MANY}}, ["body", "groups"]),
    ("POST", "/users", {"json": {"name": "u1", "display_name": "x" * 257}}, ["body", "display_name"]),
    ("POST", "/users", {"json": {"name": "u1", "email": "a@" + "b" * 250 + ".com"}}, ["body", "email"]),
    ("POST", "/users", {"json": {"name": "u" * 129}}, ["body", "name"]),
    ("POST", "/groups", {"json": {"name": "g1", "cost_center": "a\x00"}}, ["body", "cost_center"]),
    ("POST", "/groups", {"json": {"name": "g1", "description": "x" * 2001}}, ["body", "description"]),
    ("POST", "/service-accounts", {"json": {"name": "s1", "group": "bounds-team", "description": "\x00"}},
     ["body", "description"]),
    ("POST", "/models", {"json": {"name": "m1", "context_window": 10**30,
                                  "deployments": [{"base_url": "http://u/v1", "upstream_model": "m"}]}},
     ["body", "context_window"]),
    ("POST", "/apply", {"json": {"documents": [doc("Policy", "p2", {"limits": [HUGE_LIMIT]})]}},
     ["body", "documents", 0, "spec", "limits", 0, "requests"]),
    ("POST", "/apply", {"json": {"documents": [doc("Group", "g2", {"description": "a\x00"})]}},
     ["body", "documents", 0, "spec", "description"]),
    ("GET", "/usage/events", {"params": {"from": LATE}}, ["query", "from"]),
    ("GET", "/usage/events", {"params": {"to": EARLY}}, ["query", "to"]),
    ("GET", "/usage/events", {"params": {"after_id": str(10**30)}}, ["query", "after_id"]),
    ("GET", "/usage/events", {"params": {"cursor": cursor([10**22])}}, ["query", "cursor"]),
    ("GET", "/usage/events", {"params": {"model": "\x00"}}, ["query", "model"]),
    ("GET", "/usage/limit-events", {"params": {"cursor": cursor([2**63])}}, ["query", "cursor"]),
    ("GET", "/usage/limit-events", {"params": {"policy": "a\x00"}}, ["query", "policy"]),
    ("GET", "/audit/events", {"params": {"from": LATE}}, ["query", "from"]),
    ("GET", "/audit/events", {"params": {"to": EARLY}}, ["query", "to"]),
    ("GET", "/audit/events", {"params": {"actor": "\x00"}}, ["query", "actor"]),
    ("GET", "/audit/events.csv", {"params": {"from": LATE}}, ["query", "from"]),
    ("GET", "/keys", {"params": {"cursor": cursor([LATE, "x"])}}, ["query", "cursor"]),
    ("GET", "/keys", {"params": {"cursor": cursor(["2020-01-01", "x"])}}, ["query", "cursor"]),
    ("GET", "/keys", {"params": {"name": "\x00"}}, ["query", "name"]),
    ("GET", "/models/%00", {}, ["path"]),
    ("DELETE", "/users/%00", {}, ["path"]),
    ("POST", "/groups", {"content": b'{"name": "g3", "description": 1, "x": "\\ud800"}',
                         "headers": {"Content-Type": "application/json"}}, ["body", "description"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "arguments", "loc"),
    CASES,
    ids=[f"{method} {path} {'.'.join(map(str, loc[1:])) or loc[0]}" for method, path, _, loc in CASES],
)
def test_absurd_input_is_a_422_naming_the_field(
    admin: httpx.Client, method: str, path: str, arguments: dict[str, Any], loc: list[Any]
) -> None:
    response = admin.request(method, path, **arguments)
    assert response.status_code == 422, response.text
    assert loc in [error["loc"] for error in response.json()["detail"]], response.text


def test_json_nested_a_thousand_levels_is_a_4xx(admin: httpx.Client) -> None:
    for body in (b'{"documents": ' + DEEP + b"}", b'{"documents": [{"spec": ' + DEEP + b"}]}", DEEP):
        response = admin.post("/apply", content=body, headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, response.text


def test_bounds_at_their_limit_are_accepted(admin: httpx.Client) -> None:
    spec = {
        "limits": [{"requests": 10**12, "tokens": 10**12, "window": "1m"}],
        "budget": {"amount": "1000000000"},
        "schedule": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
        "targets": {"users": ["bounds-user"]},
    }
    response = admin.put("/policies/at-the-limit", json=spec)
    assert response.status_code in (200, 201), response.text
    assert response.json()["budget"]["amount"] == "1000000000"


# ---- the sweep ----------------------------------------------------------------------------------
HOSTILE: list[Any] = [
    None, BIG, -BIG, 2**63, 2**31, -1, 0, 1e308, True, "", "x" * 20_000, "a\x00b", "=1+2", [], {},
    [1] * 2000, LATE, EARLY, "999999999999w", "1e400", "NaN",
]  # fmt: skip
BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/policies", {"name": "sweep", "limits": [{"requests": 5, "window": "1m"}],
                           "budget": {"amount": "5", "renewsOn": 2}, "schedule": {"days": ["mon"]},
                           "targets": {"groups": ["bounds-team"]}, "priority": 1}),
    ("POST", "/users", {"name": "sweep", "email": "s@example.com", "display_name": "S", "groups": []}),
    ("POST", "/groups", {"name": "sweep", "description": "d", "cost_center": "c", "admins": []}),
    ("POST", "/service-accounts", {"name": "sweep", "group": "bounds-team", "description": "d"}),
    ("POST", "/keys", {"name": "sweep", "owner": "user:bounds-user", "expires_in": "30d",
                       "limits": {"requests_per_minute": 5}}),
    ("POST", "/models", {"name": "sweep", "context_window": 10, "pricing": {"input_per_million": "1"},
                         "deployments": [{"base_url": "http://u/v1", "upstream_model": "m", "timeout": 5}]}),
]  # fmt: skip
QUERIES = {
    "/keys": ["owner", "status", "name", "model", "limit", "cursor"],
    "/usage/events": ["key_id", "principal", "from", "to", "after_id", "order", "limit", "cursor"],
    "/usage/limit-events": ["principal", "policy", "key_id", "limit", "cursor"],
    "/audit/events": ["actor", "action", "target", "from", "to", "outcome", "limit", "cursor"],
}


def fields(body: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    for name, value in body.items():
        yield (name,)
        if isinstance(value, dict):
            for inner in value:
                yield (name, inner)


def replaced(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(body))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


@pytest.mark.parametrize(("method", "path", "body"), BODIES, ids=[b[1] for b in BODIES])
def test_no_hostile_body_value_is_a_5xx(
    admin: httpx.Client, method: str, path: str, body: dict[str, Any]
) -> None:
    for field in fields(body):
        for value in HOSTILE:
            response = admin.request(method, path, json=replaced(body, field, value))
            assert response.status_code < 500, (field, value, response.text)
            if response.status_code == 201 and path != "/keys":
                admin.delete(f"{path}/sweep")


def test_no_hostile_query_value_is_a_5xx(admin: httpx.Client) -> None:
    for path, names in QUERIES.items():
        for name in names:
            for value in (
                "",
                "x" * 5000,
                "\x00",
                LATE,
                EARLY,
                str(10**30),
                "-1",
                "NaN",
                cursor([10**22]),
                "=1",
            ):
                response = admin.get(path, params={name: value})
                assert response.status_code < 500, (path, name, value, response.text)
