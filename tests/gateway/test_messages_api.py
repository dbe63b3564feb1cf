"""The Anthropic Messages API end to end (issue 14): bad input, governance and token counts.

A real ``headwater serve`` (SQLite) with ``headwater sim`` behind OpenAI-compatible models, so every
call is translated to chat completions. Every error on these paths is in Anthropic's shape
(``{"type": "error", "error": {"type", "message"}}``), and the official ``anthropic`` SDK sees the
exception it would see from Anthropic. ``tess`` has a token limit, ``bud`` a budget.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam

from tests.support import (
    Server,
    Sim,
    apply,
    create_key,
    database,
    doc,
    model_doc,
    start_server,
    stop,
    usage_events,
    wait_for,
)

pytestmark = pytest.mark.e2e

MAX_BODY = 256 * 1024
TOKEN_LIMIT = 150
HI: list[MessageParam] = [{"role": "user", "content": "hello"}]


@dataclass
class World:
    server: Server
    keys: dict[str, str]  # user → key; "scoped": ann's key for the model "other" only


@pytest.fixture(scope="module")
def world(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with database("sqlite", tmp_path_factory.mktemp("messages")) as url:
        server = start_server(url, extra_env={"HEADWATER_MAX_BODY_BYTES": str(MAX_BODY)})
        try:
            apply(
                server,
                *(doc("User", name) for name in ("ann", "tess", "bud")),
                model_doc("chat", sim.url, upstream="sim-upstream"),
                model_doc("other", sim.url),
                doc(
                    "Policy",
                    "tess-tokens",
                    assets={"models": "all"},
                    targets={"users": ["tess"]},
                    limits=[{"tokens": TOKEN_LIMIT, "window": "1h"}],
                ),
                doc(
                    "Policy",
                    "bud-budget",
                    assets={"models": "all"},
                    targets={"users": ["bud"]},
                    budget={"amount": "0.00005", "currency": "USD", "period": "monthly"},
                ),
            )
            keys = {name: create_key(server, owner=f"user:{name}")["key"] for name in ("ann", "tess", "bud")}
            keys["scoped"] = create_key(server, owner="user:ann", models=["other"])["key"]
            yield World(server, keys)
        finally:
            stop(server.process)


def sdk(world: World, user: str = "ann") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=world.server.url, api_key=world.keys[user], max_retries=0, timeout=20)


def post(
    world: World,
    body: Any,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    path: str = "",
) -> httpx.Response:
    sent = {
        "x-api-key": world.keys["ann"],
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    }
    if headers is not None:
        sent = {"anthropic-version": "2023-06-01", "content-type": "application/json", **headers}
    content = raw if raw is not None else json.dumps(body).encode()
    url = f"{world.server.url}/v1/messages{path}"
    return httpx.post(url, content=content, headers=sent, timeout=20)


def anthropic_error(response: httpx.Response, status: int, kind: str) -> str:
    """The message of an error in Anthropic's shape, after checking its status and type."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == kind, body
    assert set(body["error"]) <= {"type", "message"}
    message: str = body["error"]["message"]
    assert message
    return message


def test_the_sdk_is_answered_with_either_header(world: World) -> None:
    with sdk(world) as client:
        message = client.messages.create(model="chat", max_tokens=32, messages=HI)  # x-api-key
    assert message.model == "chat" and message.content and message.usage.input_tokens > 0
    bearer = post(
        world,
        {"model": "chat", "max_tokens": 16, "messages": HI},
        headers={"Authorization": f"Bearer {world.keys['ann']}"},
    )
    assert bearer.status_code == 200 and bearer.json()["type"] == "message"


# ---- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"model": "chat", "max_tokens": 5, "messages": [', "JSON"),
        (b"[1]", "object"),
        (b'{"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}', "model"),
        (b'{"model": "chat", "messages": [{"role": "user", "content": "hi"}]}', "max_tokens"),
        (b'{"model": "chat", "max_tokens": 5, "messages": "hi"}', "messages"),
        (b'{"model": "chat", "max_tokens": 5, "messages": [{"role": "user", "content": 5}]}', "messages[0]"),
        (b'{"model": "chat", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "stream": 1}',
         "stream"),
        (
            b'{"model": "chat", "max_tokens": 2048, "messages": [{"role": "user", "content": "hi"}],'
            b' "thinking": {"type": "enabled", "budget_tokens": 1024}}',
            "thinking",
        ),
        (
            b'{"model": "chat", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}],'
            b' "tools": [{"type": "web_search_20250305", "name": "web_search"}]}',
            "tools[0]",
        ),
    ],
    ids=["malformed", "array", "no-model", "no-max-tokens", "messages-type", "content-type", "stream-type",
         "thinking", "server-tool"],
)  # fmt: skip
def test_bad_input_is_an_anthropic_400_naming_the_field(world: World, raw: bytes, field: str) -> None:
    message = anthropic_error(post(world, None, raw=raw), 400, "invalid_request_error")
    assert field.lower() in message.lower()


def test_the_sdk_sees_a_bad_request(world: World) -> None:
    with sdk(world) as client, pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(
            model="chat", max_tokens=2048, messages=HI, thinking={"type": "enabled", "budget_tokens": 1024}
        )
    assert refused.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


def test_unknown_model_is_an_anthropic_404(world: World) -> None:
    anthropic_error(
        post(world, {"model": "no-such", "max_tokens": 5, "messages": HI}), 404, "not_found_error"
    )
    with sdk(world) as client, pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="no-such", max_tokens=5, messages=HI)


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "hw-wrong-key"}, {"Authorization": "Bearer hw-wrong-key"}],
    ids=["none", "x-api-key", "bearer"],
)
def test_no_or_wrong_key_is_an_anthropic_401(world: World, headers: dict[str, str]) -> None:
    response = post(world, {"model": "chat", "max_tokens": 5, "messages": HI}, headers=headers)
    anthropic_error(response, 401, "authentication_error")
    assert "hw-wrong-key" not in response.text
    client = anthropic.Anthropic(base_url=world.server.url, api_key="hw-wrong-key", max_retries=0)
    with client, pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model="chat", max_tokens=5, messages=HI)


def test_a_model_outside_the_keys_scope_is_refused(world: World) -> None:
    with sdk(world, "scoped") as client:
        with pytest.raises(anthropic.PermissionDeniedError) as refused:
            client.messages.create(model="chat", max_tokens=5, messages=HI)
        assert refused.value.body["type"] == "error"  # type: ignore[index]
        assert client.messages.create(model="other", max_tokens=5, messages=HI).content


def test_huge_and_deep_bodies(world: World) -> None:
    huge = {"model": "chat", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * (MAX_BODY + 1)}]}
    anthropic_error(post(world, huge), 413, "request_too_large")
    deep = b'{"model": "chat", "max_tokens": 5, "metadata": {"a": ' + b"[" * 200 + b"]" * 200 + b"}}"
    assert "128" in anthropic_error(post(world, None, raw=deep), 400, "invalid_request_error")


def test_wrong_method_is_405(world: World) -> None:
    for path in ("", "/count_tokens"):
        response = httpx.get(
            f"{world.server.url}/v1/messages{path}", headers={"x-api-key": world.keys["ann"]}
        )
        anthropic_error(response, 405, "invalid_request_error")
        assert response.headers["allow"] == "POST"


# ---- governance -----------------------------------------------------------------------------------
def test_a_token_limit_applies_as_to_chat(world: World) -> None:
    admitted: list[Any] = []
    with sdk(world, "tess") as client, pytest.raises(anthropic.RateLimitError) as refused:
        for _ in range(20):
            with client.messages.stream(model="chat", max_tokens=30, messages=HI) as stream:
                admitted.append(stream.get_final_message())
    assert 1 <= len(admitted) < 20
    assert refused.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert "tess-tokens" in refused.value.message
    assert int(refused.value.response.headers["retry-after"]) >= 1
    events = wait_for(
        lambda: (found := usage_events(world.server, user="tess")) and len(found) == len(admitted) and found
    )
    assert all(event["endpoint"] == "messages" and event["status"] == "success" for event in events)
    assert all(event["streamed"] for event in events)
    told = sorted((m.usage.input_tokens, m.usage.output_tokens) for m in admitted)
    recorded = sorted((e["prompt_tokens"], e["completion_tokens"]) for e in events)
    assert told == recorded  # what each client was told is what was recorded
    assert sum(a + b for a, b in recorded) <= TOKEN_LIMIT


def test_a_budget_applies_as_to_chat(world: World) -> None:
    admitted = 0
    with sdk(world, "bud") as client, pytest.raises(anthropic.RateLimitError) as refused:
        for _ in range(100):
            client.messages.create(model="chat", max_tokens=20, messages=HI)
            admitted += 1
    assert admitted > 0
    assert refused.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    events = wait_for(
        lambda: (found := usage_events(world.server, user="bud")) and len(found) == admitted and found
    )
    assert {event["endpoint"] for event in events} == {"messages"}


# ---- count_tokens ---------------------------------------------------------------------------------
def test_count_tokens(world: World) -> None:
    with sdk(world) as client:
        short = client.messages.count_tokens(model="chat", messages=HI)
        long = client.messages.count_tokens(
            model="chat", system="You are terse.", messages=[{"role": "user", "content": "hello " * 200}]
        )
    assert 0 < short.input_tokens < long.input_tokens
    assert long.input_tokens >= 200


def test_count_tokens_for_a_model_the_key_may_not_use_is_404(world: World) -> None:
    with sdk(world, "scoped") as client:
        assert client.messages.count_tokens(model="other", messages=HI).input_tokens > 0
        with pytest.raises(anthropic.NotFoundError):
            client.messages.count_tokens(model="chat", messages=HI)
        with pytest.raises(anthropic.NotFoundError):
            client.messages.count_tokens(model="no-such", messages=HI)
    response = post(world, {"model": "chat", "messages": HI}, headers={}, path="/count_tokens")
    anthropic_error(response, 401, "authentication_error")
    response = post(world, {"messages": HI}, path="/count_tokens")
    assert "model" in anthropic_error(response, 400, "invalid_request_error")
