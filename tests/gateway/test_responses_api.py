"""The Responses API end to end (issue 14): stored responses, bad input and governance.

A real ``headwater serve`` (SQLite and PostgreSQL: the stored responses live in the database) with
``headwater sim`` behind a chat model, and a fake Azure OpenAI resource behind two more: one
translated to chat completions (so the test sees exactly which messages a conversation sends), one
declaring ``responses_api`` (so the test sees the untranslated request). Users ``ann`` and ``bob``
are two tenants; ``tess`` has a token limit, ``bud`` a budget.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import Response

from tests.providers.fakes.azure import FakeAzureOpenAI
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


@dataclass
class World:
    server: Server
    azure: FakeAzureOpenAI
    keys: dict[str, str]  # user → key


def _azure(azure: FakeAzureOpenAI, **more: Any) -> dict[str, Any]:
    return {
        "provider": "azure-openai",
        "base_url": azure.base_url,
        "upstream_model": "gpt-4o",
        "api_version": "2024-10-21",
        "credential_env": "HEADWATER_UPSTREAM_AZURE",
        **more,
    }


@pytest.fixture(scope="module")
def world(database_url: str, sim: Sim) -> Iterator[World]:
    with FakeAzureOpenAI(api_key=secrets.token_hex(16)) as azure:
        env = {"HEADWATER_UPSTREAM_AZURE": azure.api_key, "HEADWATER_MAX_BODY_BYTES": str(MAX_BODY)}
        server = start_server(database_url, extra_env=env)
        try:
            apply(
                server,
                *(doc("User", name) for name in ("ann", "bob", "tess", "bud")),
                model_doc("chat", sim.url, upstream="sim-upstream"),
                model_doc("azure-chat", azure.base_url, deployment=_azure(azure)),
                model_doc("azure-native", azure.base_url, deployment=_azure(azure, responses_api=True)),
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
            keys = {
                name: create_key(server, owner=f"user:{name}")["key"]
                for name in ("ann", "bob", "tess", "bud")
            }
            yield World(server, azure, keys)
        finally:
            log = stop(server.process)
        assert azure.api_key not in log  # never a credential in the server's log


def sdk(world: World, user: str = "ann") -> openai.OpenAI:
    return openai.OpenAI(base_url=world.server.v1, api_key=world.keys[user], max_retries=0, timeout=20)


def post(world: World, body: Any, *, key: str | None = None, raw: bytes | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or world.keys['ann']}", "Content-Type": "application/json"}
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(f"{world.server.v1}/responses", content=content, headers=headers, timeout=20)


def user_texts(messages: list[dict[str, Any]]) -> list[str]:
    """Each chat message's text content (a string or text parts), in order."""
    texts = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content)
        texts.append(f"{message['role']}:{content or ''}")
    return texts


# ---- the store ------------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_stored_response_is_retrieved_by_its_owner(world: World, stream: bool) -> None:
    with sdk(world) as client:
        created: Response
        if stream:
            with client.responses.stream(model="chat", input="Say hello.") as events:
                created = events.get_final_response()
        else:
            created = client.responses.create(model="chat", input="Say hello.")
        assert created.id.startswith("resp_") and created.output_text
        read = client.responses.retrieve(created.id)
    assert read.id == created.id
    assert read.model == "chat"  # the public name, never the upstream's
    assert read.output_text == created.output_text
    assert read.usage is not None and created.usage is not None
    assert read.usage.input_tokens == created.usage.input_tokens


def test_previous_response_id_sends_the_whole_conversation(world: World) -> None:
    with sdk(world) as client:
        first = client.responses.create(model="azure-chat", input="My name is Ada.", instructions="Be brief.")
        second = client.responses.create(
            model="azure-chat", input="What is my name?", previous_response_id=first.id
        )
    assert second.id != first.id and "Hello" in second.output_text
    sent = world.azure.requests[-1]
    assert sent.path == "/openai/deployments/gpt-4o/chat/completions"
    messages = sent.json()["messages"]
    assert user_texts(messages) == [  # the first call's instructions are not carried over (as OpenAI)
        "user:My name is Ada.",
        f"assistant:{first.output_text}",
        "user:What is my name?",
    ]
    # a third turn chains through the second: the whole conversation again
    with sdk(world) as client:
        client.responses.create(model="azure-chat", input="And again?", previous_response_id=second.id)
    texts = user_texts(world.azure.requests[-1].json()["messages"])
    assert texts[-5:] == [
        "user:My name is Ada.",
        f"assistant:{first.output_text}",
        "user:What is my name?",
        f"assistant:{second.output_text}",
        "user:And again?",
    ]


def test_a_responses_api_deployment_gets_the_request_untranslated(world: World) -> None:
    with sdk(world) as client:
        first = client.responses.create(model="azure-chat", input="Remember: blue.")
        answer = client.responses.create(
            model="azure-native",
            input="Which colour?",
            previous_response_id=first.id,
            max_output_tokens=50,
            store=False,
        )
    assert "Hello" in answer.output_text and answer.model == "azure-native"
    sent = world.azure.requests[-1]
    assert sent.path == "/openai/responses"
    body = sent.json()
    assert body["model"] == "gpt-4o" and body["store"] is False
    assert "previous_response_id" not in body  # the gateway expanded it: the upstream keeps nothing
    assert body["max_output_tokens"] == 50
    items = body["input"]
    assert items[0]["role"] == "user" and items[0]["content"][0]["text"] == "Remember: blue."
    assert json.dumps(items[1]).find(first.output_text) >= 0  # the first answer, as an output item
    assert items[-1]["role"] == "user" and "Which colour?" in json.dumps(items[-1])


def test_another_tenant_is_told_it_does_not_exist(world: World) -> None:
    with sdk(world, "ann") as ann, sdk(world, "bob") as bob:
        mine = ann.responses.create(model="chat", input="A secret plan.")
        with pytest.raises(openai.NotFoundError):
            bob.responses.retrieve(mine.id)
        with pytest.raises(openai.NotFoundError):
            bob.responses.input_items.list(mine.id)
        with pytest.raises(openai.NotFoundError):
            bob.responses.delete(mine.id)
        with pytest.raises(openai.NotFoundError) as refused:
            bob.responses.create(model="chat", input="Go on.", previous_response_id=mine.id)
        assert refused.value.body["param"] == "previous_response_id"  # type: ignore[index]
        assert ann.responses.retrieve(mine.id).output_text == mine.output_text  # still there for ann
    # what bob is told is what anyone is told about an id that never existed
    unknown = httpx.get(
        f"{world.server.v1}/responses/resp_{'0' * 48}",
        headers={"Authorization": f"Bearer {world.keys['bob']}"},
    )
    theirs = httpx.get(
        f"{world.server.v1}/responses/{mine.id}", headers={"Authorization": f"Bearer {world.keys['bob']}"}
    )
    assert unknown.status_code == theirs.status_code == 404
    assert unknown.json()["error"]["code"] == theirs.json()["error"]["code"]


def test_store_false_is_not_kept(world: World) -> None:
    with sdk(world) as client:
        created = client.responses.create(model="chat", input="Forget this.", store=False)
        assert created.output_text
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(created.id)
        with pytest.raises(openai.NotFoundError):
            client.responses.create(model="chat", input="More.", previous_response_id=created.id)


def test_delete_then_retrieve_is_404(world: World) -> None:
    with sdk(world) as client:
        created = client.responses.create(model="chat", input="Short-lived.")
        client.responses.delete(created.id)
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(created.id)
        with pytest.raises(openai.NotFoundError):
            client.responses.delete(created.id)


def test_input_items_list_the_conversation_input(world: World) -> None:
    with sdk(world) as client:
        first = client.responses.create(model="chat", input="First question.")
        second = client.responses.create(
            model="chat",
            input=[{"role": "user", "content": [{"type": "input_text", "text": "Second question."}]}],
            previous_response_id=first.id,
        )
        items = client.responses.input_items.list(second.id).data
        only = client.responses.input_items.list(first.id).data
    assert len(only) == 1 and only[0].type == "message"
    texts = [json.dumps(item.model_dump()) for item in items]
    assert "First question." in texts[0] and "Second question." in texts[-1]
    assert len(items) >= 3  # the first input, the first answer, the second input
    assert all(item.id for item in items)


def test_a_server_that_keeps_nothing(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> None:
    directory: Path = tmp_path_factory.mktemp("nostore")
    with database("sqlite", directory) as url:
        server = start_server(url, extra_env={"HEADWATER_RESPONSE_STORE_DAYS": "0"})
        try:
            apply(server, model_doc("chat", sim.url))
            key = create_key(server)["key"]
            with openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as client:
                created = client.responses.create(model="chat", input="Hello.")
                assert created.output_text
                with pytest.raises(openai.NotFoundError):
                    client.responses.retrieve(created.id)
                with pytest.raises(openai.NotFoundError):
                    client.responses.create(model="chat", input="Again.", previous_response_id=created.id)
        finally:
            stop(server.process)


# ---- bad input ------------------------------------------------------------------------------------
def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    return error


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (b'{"model": "chat", "input": "hi"', None),  # not JSON
        (b"[1, 2]", None),  # not an object
        (b'{"input": "hi"}', "model"),
        (b'{"model": "chat", "input": 5}', "input"),
        (b'{"model": "chat", "input": "hi", "stream": "yes"}', "stream"),
        (b'{"model": "chat", "input": "hi", "tools": [{"type": "web_search"}]}', "tools[0].type"),
    ],
    ids=["malformed", "array", "no-model", "input-type", "stream-type", "builtin-tool"],
)
def test_bad_input_is_a_400_naming_the_field(world: World, raw: bytes, param: str | None) -> None:
    error = _error(post(world, None, raw=raw), 400)
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param
        assert param.split("[")[0] in error["message"]


def test_a_builtin_tool_passes_to_a_deployment_that_implements_the_api(world: World) -> None:
    response = post(world, {"model": "azure-native", "input": "hi", "tools": [{"type": "web_search"}]})
    assert response.status_code == 200, response.text
    assert world.azure.requests[-1].json()["tools"] == [{"type": "web_search"}]


def test_unknown_model_and_bad_keys(world: World) -> None:
    error = _error(post(world, {"model": "no-such-model", "input": "hi"}), 404)
    assert error["code"] == "model_not_found" and error["param"] == "model"
    for headers in ({}, {"Authorization": "Bearer hw-wrong-key"}, {"x-api-key": "hw-wrong-key"}):
        response = httpx.post(
            f"{world.server.v1}/responses", json={"model": "chat", "input": "hi"}, headers=headers
        )
        assert _error(response, 401)["type"] == "authentication_error"
        assert "hw-wrong-key" not in response.text
    for method in ("GET", "DELETE"):
        response = httpx.request(method, f"{world.server.v1}/responses/resp_x")
        _error(response, 401)
    response = httpx.post(
        f"{world.server.v1}/responses",
        json={"model": "chat", "input": "hi"},
        headers={"x-api-key": world.keys["ann"]},
    )
    assert response.status_code == 200, response.text  # x-api-key is a key here too


def test_huge_and_deep_bodies(world: World) -> None:
    huge = {"model": "chat", "input": "x" * (MAX_BODY + 1)}
    error = _error(post(world, huge), 413)
    assert error["code"] == "request_too_large"
    deep = b'{"model": "chat", "input": "hi", "metadata": {"a": ' + b"[" * 200 + b"]" * 200 + b"}}"
    assert _error(post(world, None, raw=deep), 400)["code"] == "nesting_too_deep"


def test_wrong_methods(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.keys['ann']}"}
    response = httpx.get(f"{world.server.v1}/responses", headers=headers)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    response = httpx.post(f"{world.server.v1}/responses/resp_x", headers=headers)
    assert response.status_code == 405 and response.headers["allow"] == "GET, DELETE"


# ---- governance -----------------------------------------------------------------------------------
def test_a_token_limit_applies_as_to_chat(world: World) -> None:
    admitted: list[Any] = []
    with sdk(world, "tess") as client, pytest.raises(openai.RateLimitError) as refused:
        for _ in range(20):
            admitted.append(client.responses.create(model="chat", input="hello", max_output_tokens=30))
    assert 1 <= len(admitted) < 20
    assert refused.value.body["type"] == "tokens"  # type: ignore[index]
    assert int(refused.value.response.headers["retry-after"]) >= 1
    events = wait_for(
        lambda: (found := usage_events(world.server, user="tess")) and len(found) == len(admitted) and found
    )
    assert all(event["endpoint"] == "responses" and event["status"] == "success" for event in events)
    told = sorted((r.usage.input_tokens, r.usage.output_tokens) for r in admitted)
    recorded = sorted((e["prompt_tokens"], e["completion_tokens"]) for e in events)
    assert told == recorded  # what each client was told is what was recorded
    assert sum(a + b for a, b in recorded) <= TOKEN_LIMIT


def test_a_budget_applies_as_to_chat(world: World) -> None:
    admitted = 0
    with sdk(world, "bud") as client, pytest.raises(openai.RateLimitError) as refused:
        for _ in range(100):
            client.responses.create(model="chat", input="hello there", max_output_tokens=20)
            admitted += 1
    assert admitted > 0
    assert refused.value.body["code"] == "insufficient_quota"  # type: ignore[index]
    events = wait_for(
        lambda: (found := usage_events(world.server, user="bud")) and len(found) == admitted and found
    )
    assert {event["endpoint"] for event in events} == {"responses"}
