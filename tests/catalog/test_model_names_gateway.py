"""Model names with ``/`` and ``:`` through the gateway, driven by the official OpenAI SDK.

Chat (streamed or not) and embeddings answer for ``meta-llama/Llama-3.1-8B-Instruct``-style and
``llama3.1:8b``-style names, ``/v1/models`` lists and retrieves them (raw or percent-encoded), usage
is recorded and filtered under the whole name, a policy grants such a model with a token limit that
holds exactly, and a key's scope names such models.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import openai
import pytest

from tests.support import Server, Sim, create_key, model_doc, usage_events, wait_for

pytestmark = pytest.mark.e2e

HF = "meta-llama/Llama-3.1-8B-Instruct"
OLLAMA = "llama3.1:8b"
HF_EMBED = "BAAI/bge-m3"
OLLAMA_EMBED = "nomic-embed-text:v1.5"
SECRET = "acme/secret-llm:v2"
PROMPT = "Where do rivers begin?"


def put(admin: httpx.Client, path: str, body: dict[str, Any]) -> None:
    response = admin.put(path, json=body)
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def world(server: Server, sim: Sim) -> Iterator[Server]:
    with server.admin() as admin:
        for name, kind, access in (
            (HF, "chat", "open"),
            (OLLAMA, "chat", "open"),
            (HF_EMBED, "embedding", "open"),
            (OLLAMA_EMBED, "embedding", "open"),
            (SECRET, "chat", "restricted"),
        ):
            # The upstream knows the model by the same name (vLLM, Ollama).
            put(admin, f"/models/{name}", model_doc(name, sim.url, kind=kind, access=access)["spec"])
        for user in ("uma", "tara", "otto"):
            put(admin, f"/users/{user}", {})
        grant = {"assets": {"models": [SECRET]}, "targets": {"users": ["uma"]}}
        put(admin, "/policies/secret-for-uma", grant)
    yield server


def sdk(server: Server, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0)


@pytest.fixture(scope="module")
def client(world: Server) -> Iterator[openai.OpenAI]:
    with sdk(world, create_key(world, name="names")["key"]) as opened:
        yield opened


@pytest.mark.parametrize("name", [HF, OLLAMA])
def test_chat_and_its_usage_under_the_whole_name(client: openai.OpenAI, world: Server, name: str) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=name, messages=[{"role": "user", "content": PROMPT}]
    )
    reply = raw.parse()
    assert reply.model == name and reply.choices[0].message.content
    request_id = raw.headers["x-request-id"]
    events = wait_for(lambda: [e for e in usage_events(world, model=name) if e["request_id"] == request_id])
    assert events[0]["model"] == name and events[0]["deployment"] == f"{name}/0"
    assert events[0]["status"] == "success"
    assert {e["model"] for e in usage_events(world, model=name)} == {name}  # the filter takes the name


@pytest.mark.parametrize("name", [HF, OLLAMA])
def test_chat_stream(client: openai.OpenAI, name: str) -> None:
    chunks = list(
        client.chat.completions.create(
            model=name, messages=[{"role": "user", "content": PROMPT}], stream=True
        )
    )
    assert chunks and all(chunk.model == name for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.mark.parametrize("name", [HF_EMBED, OLLAMA_EMBED])
def test_embeddings(client: openai.OpenAI, name: str) -> None:
    result = client.embeddings.create(model=name, input=["headwaters", "estuary"])
    assert result.model == name and len(result.data) == 2 and result.data[0].embedding


def test_models_list_and_retrieve(client: openai.OpenAI, world: Server) -> None:
    listed = {model.id for model in client.models.list()}
    assert {HF, OLLAMA, HF_EMBED, OLLAMA_EMBED} <= listed and SECRET not in listed
    for name in (HF, OLLAMA, HF_EMBED):
        assert client.models.retrieve(name).id == name  # the SDK percent-encodes the name
    headers = {"Authorization": f"Bearer {client.api_key}"}
    for path in (HF, quote(HF, safe=""), OLLAMA, quote(OLLAMA, safe=""), quote(OLLAMA_EMBED, safe="/")):
        found = httpx.get(f"{world.v1}/models/{path}", headers=headers)
        assert found.status_code == 200, path
        assert found.json()["object"] == "model" and found.json()["id"] in (HF, OLLAMA, OLLAMA_EMBED)
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("meta-llama/Llama-3.1-8B")  # a prefix of a known name is no name
    assert missing.value.body["code"] == "model_not_found"  # type: ignore[index]
    for path in ("meta-llama", "meta-llama/Llama-3.1-8B-Instruct/extra", quote(SECRET, safe="")):
        unknown = httpx.get(f"{world.v1}/models/{path}", headers=headers)
        assert unknown.status_code == 404
        error = unknown.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["code"] == "model_not_found"


def test_a_policy_grants_such_a_model_with_a_token_limit_held_exactly(world: Server) -> None:
    def ask(client: openai.OpenAI) -> Any:
        return client.chat.completions.create(
            model=SECRET, messages=[{"role": "user", "content": PROMPT}], max_tokens=5
        )

    with sdk(world, create_key(world, owner="user:uma")["key"]) as uma:
        first = ask(uma)
    assert first.usage is not None and first.usage.completion_tokens == 5  # cut at max_tokens
    per_call = first.usage.total_tokens
    metered = {
        "assets": {"models": [SECRET]},
        "targets": {"users": ["tara"]},
        "limits": [{"tokens": 3 * per_call, "window": "1h"}],
    }
    with world.admin() as admin:
        put(admin, "/policies/secret-metered", metered)
    with sdk(world, create_key(world, owner="user:tara")["key"]) as tara:
        for _ in range(3):
            assert ask(tara).usage.total_tokens == per_call
        with pytest.raises(openai.RateLimitError) as refused:
            ask(tara)
    assert refused.value.body["type"] == "tokens"  # type: ignore[index]
    assert "(policy secret-metered)" in refused.value.message
    spent = wait_for(
        lambda: (found := usage_events(world, user="tara", model=SECRET)) and len(found) == 3 and found
    )
    assert sum(e["total_tokens"] for e in spent) == 3 * per_call
    with sdk(world, create_key(world, owner="user:otto")["key"]) as otto:
        with pytest.raises(openai.PermissionDeniedError) as denied:
            ask(otto)  # granted to nobody otto is
        assert denied.value.body["code"] == "model_not_allowed"  # type: ignore[index]
        assert SECRET not in {model.id for model in otto.models.list()}


def test_a_key_restricted_to_such_a_model(world: Server) -> None:
    created = create_key(world, name="only-hf", models=[HF])
    assert created["models"] == [HF]
    with sdk(world, created["key"]) as scoped:
        assert scoped.chat.completions.create(
            model=HF, messages=[{"role": "user", "content": PROMPT}]
        ).choices
        with pytest.raises(openai.PermissionDeniedError) as denied:
            scoped.chat.completions.create(model=OLLAMA, messages=[{"role": "user", "content": PROMPT}])
        assert denied.value.body["code"] == "model_not_allowed"  # type: ignore[index]
        assert [model.id for model in scoped.models.list()] == [HF]
        with pytest.raises(openai.NotFoundError):
            scoped.models.retrieve(OLLAMA)
    with world.admin() as admin:
        widened = admin.patch(f"/keys/{created['id']}", json={"models": [HF, OLLAMA]})
        assert widened.status_code == 200 and sorted(widened.json()["models"]) == sorted([HF, OLLAMA])
        refused = admin.patch(f"/keys/{created['id']}", json={"models": [HF, "meta-llama//x"]})
        assert refused.status_code == 422
        assert [item["loc"] for item in refused.json()["detail"]] == [["body", "models", 1]]
        listed = admin.get("/keys", params={"model": OLLAMA}).json()["items"]
        assert created["id"] in {key["id"] for key in listed}
    with sdk(world, created["key"]) as widened_key:
        answer = widened_key.chat.completions.create(
            model=OLLAMA, messages=[{"role": "user", "content": PROMPT}]
        )
        assert answer.model == OLLAMA
