"""Model names in the forms people know them by, through the admin API and the CLI.

``meta-llama/Llama-3.1-8B-Instruct`` (Hugging Face, vLLM), ``llama3.1:8b`` (Ollama) and
``gpt-4o-2024-08-06`` are model names; the path of one model takes them raw or percent-encoded.
Every other resource keeps its stricter name: a ``/`` or ``:`` there is still refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support import Server, Sim, cli, model_doc

pytestmark = pytest.mark.e2e

HF = "meta-llama/Llama-3.1-8B-Instruct"
OLLAMA = "llama3.1:8b"
DATED = "gpt-4o-2024-08-06"
#: Refused as model names, each for its own reason.
BAD_NAMES = {
    "absolute": "/x",
    "trailing slash": "x/",
    "empty segment": "a//b",
    "dot-dot segment": "a/../b",
    "dot segment": "a/./b",
    "hidden segment": "a/.b",
    "space": "a b",
    "percent": "a%2Fb",
    "backslash": "a\\b",
    "query": "a?b",
    "too long": "m" * 129,
    "too long in segments": "a" * 64 + "/" + "b" * 64,
}


def spec(sim: Sim, upstream: str = "some-upstream", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = model_doc("unused", sim.url, upstream=upstream, **fields)["spec"]
    return body


def encoded(name: str) -> str:
    """The name as one path segment: ``/`` becomes ``%2F``, ``:`` ``%3A``."""
    return quote(name, safe="")


@pytest.fixture
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.admin() as client:
        yield client


@pytest.mark.parametrize("name", [HF, OLLAMA, "org/team/model:v1.2@sha+build"])
def test_put_get_delete_by_raw_and_by_encoded_path(admin: httpx.Client, sim: Sim, name: str) -> None:
    created = admin.put(f"/models/{name}", json=spec(sim))
    assert created.status_code == 200, created.text
    assert created.json()["name"] == name
    read = admin.get(f"/models/{encoded(name)}")
    assert read.status_code == 200 and read.json()["name"] == name
    replaced = admin.put(f"/models/{encoded(name)}", json=spec(sim, kind="completion"))
    assert replaced.status_code == 200 and replaced.json()["name"] == name
    assert admin.get(f"/models/{name}").json()["kind"] == "completion"  # one model, not two
    listed = [model["name"] for model in admin.get("/models").json()["items"]]
    assert listed.count(name) == 1
    assert admin.delete(f"/models/{encoded(name)}").status_code == 204
    assert admin.get(f"/models/{name}").status_code == 404
    assert admin.delete(f"/models/{name}").status_code == 404


def test_post_creates_such_names_once(admin: httpx.Client, sim: Sim) -> None:
    for name in (HF, OLLAMA, DATED):
        created = admin.post("/models", json={"name": name, **spec(sim)})
        assert created.status_code == 201, created.text
        assert created.json()["name"] == name
        assert admin.post("/models", json={"name": name, **spec(sim)}).status_code == 409
    listed = {model["name"] for model in admin.get("/models").json()["items"]}
    assert {HF, OLLAMA, DATED} <= listed
    boundary = "a" * 64 + "/" + "b" * 63  # 128 characters: the longest name
    assert admin.put(f"/models/{boundary}", json=spec(sim)).status_code == 200
    assert admin.get(f"/models/{encoded(boundary)}").json()["name"] == boundary


def test_the_audit_trail_names_the_model_whole(admin: httpx.Client, sim: Sim) -> None:
    name = "audited/llama3.1:70b"
    admin.put(f"/models/{encoded(name)}", json=spec(sim)).raise_for_status()
    events = admin.get("/audit/events", params={"target": name}).json()["items"]
    assert [(e["action"], e["target_type"], e["target_id"]) for e in events] == [
        ("model.create", "model", name)
    ]


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_bad_model_names_are_refused_naming_the_field(admin: httpx.Client, sim: Sim, name: str) -> None:
    posted = admin.post("/models", json={"name": name, **spec(sim)})
    assert posted.status_code == 422, posted.text
    assert [item["loc"] for item in posted.json()["detail"]] == [["body", "name"]]
    put = admin.put(f"/models/{encoded(name)}", json=spec(sim))
    assert put.status_code == 422, put.text
    assert [item["loc"] for item in put.json()["detail"]] == [["path", "name"]]
    # Nothing by that name exists to be read or deleted.
    assert admin.get(f"/models/{encoded(name)}").status_code == 404
    assert admin.delete(f"/models/{encoded(name)}").status_code == 404
    policy = {"name": "bad-assets", "assets": {"models": ["fine", name]}, "targets": {}}
    refused = admin.post("/policies", json=policy)
    assert refused.status_code == 422
    assert ["body", "assets", "models", "list[constrained-str]", 1] in [
        item["loc"] for item in refused.json()["detail"]
    ]
    key = admin.post("/keys", json={"name": "k", "models": ["fine", name]})
    assert key.status_code == 422
    assert [item["loc"] for item in key.json()["detail"]] == [["body", "models", 1]]


@pytest.mark.parametrize("name", ["a/b", "a:b"])
def test_other_resources_keep_their_stricter_names(admin: httpx.Client, name: str) -> None:
    for collection in ("users", "groups", "policies"):
        refused = admin.post(f"/{collection}", json={"name": name})
        assert refused.status_code == 422, (collection, refused.text)
        assert ["body", "name"] in [item["loc"] for item in refused.json()["detail"]]
        # A ``/`` makes it a path no route of theirs takes; a ``:`` fails their name's pattern.
        put = admin.put(f"/{collection}/{encoded(name)}", json={})
        assert put.status_code == (404 if "/" in name else 422), (collection, put.text)
    account = admin.post("/service-accounts", json={"name": name, "group": "nobody"})
    assert account.status_code == 422
    assert ["body", "name"] in [item["loc"] for item in account.json()["detail"]]
    for collection in ("users", "groups", "service-accounts", "policies"):
        assert admin.get(f"/{collection}/{encoded(name)}").status_code == 404  # none was made
    owned = admin.post("/keys", json={"name": "k", "owner": f"user:{name}"})
    assert owned.status_code == 422
    assert [item["loc"] for item in owned.json()["detail"]] == [["body", "owner"]]


def test_cli_shows_and_deletes_such_models(server: Server, sim: Sim) -> None:
    env = server.cli_env()
    with server.admin() as admin:
        for name in (HF, OLLAMA):
            admin.put(f"/models/{name}", json=spec(sim, upstream=f"up-{len(name)}")).raise_for_status()
    for name in (HF, OLLAMA):
        shown = cli("models", "show", name, "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["name"] == name
        table = cli("models", "show", name, env=env)
        assert table.returncode == 0 and name in table.stdout
    listed = cli("models", "list", env=env)
    assert HF in listed.stdout and OLLAMA in listed.stdout

    key = cli("keys", "create", "--name", "cli-scoped", "--model", HF, "--model", OLLAMA, "--json", env=env)
    assert key.returncode == 0, key.stderr
    assert sorted(json.loads(key.stdout)["models"]) == sorted([HF, OLLAMA])
    bad = cli("keys", "create", "--name", "cli-bad", "--model", "a//b", env=env)
    assert bad.returncode == 1 and bad.stderr.startswith("error: models.0:")

    deleted = cli("models", "delete", HF, env=env)
    assert deleted.returncode == 0 and f"deleted model {HF}" in deleted.stdout
    missing = cli("models", "show", HF, env=env)
    assert missing.returncode == 1 and missing.stderr.strip() == f"error: model {HF} not found"
    for name in ("..", ".", "../keys"):  # never resolved into another route
        escaped = cli("models", "show", name, env=env)
        assert escaped.returncode == 1 and escaped.stderr.strip() == f"error: model {name} not found"
    assert cli("models", "show", "", env=env).stderr.strip() == "error: a name cannot be empty"
    assert cli("models", "show", OLLAMA, "--json", env=env).returncode == 0  # the other one stays
