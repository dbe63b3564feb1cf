"""bench/org_generate.py: a generated organisation is one Headwater serves as if made through the API.

A tiny organisation goes into a fresh PostgreSQL database; a real `headwater serve` on it answers a
chat call (OpenAI SDK, through the simulator) with one of the generated keys, refuses a key that is
not in the sample, and its admin API lists what was generated.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support import PG_ADMIN_URL, Server, Sim, postgres_database, start_server, stop

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

GENERATOR = Path(__file__).resolve().parents[2] / "bench" / "org_generate.py"
SIZES = {"keys": 50, "users": 20, "groups": 5, "policies": 5, "models": 3}


@pytest.fixture(scope="module")
def generated(
    sim: Sim, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Path, dict[str, Any]]]:
    keys_file = tmp_path_factory.mktemp("org") / "keys.jsonl"
    with postgres_database() as url:
        argv = [sys.executable, str(GENERATOR), "--upstream", sim.url, "--keys-file", str(keys_file)]
        argv += ["--database-url", url, "--server", PG_ADMIN_URL]
        for name, value in SIZES.items():
            argv += [f"--{name}", str(value)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout.splitlines()[-1])
        server = start_server(url)
        try:
            yield server, keys_file, summary
        finally:
            stop(server.process)


def sampled(keys_file: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in keys_file.read_text().splitlines()]


def test_a_generated_key_calls_a_generated_model_through_the_simulator(
    generated: tuple[Server, Path, dict[str, Any]],
) -> None:
    server, keys_file, _ = generated
    entry = sampled(keys_file)[0]
    assert entry["owner"].startswith("user:")
    with openai.OpenAI(base_url=server.v1, api_key=entry["key"], max_retries=0) as sdk:
        answer = sdk.chat.completions.create(
            model="org-model-1", messages=[{"role": "user", "content": "hello"}], max_tokens=8
        )
    assert answer.choices[0].message.content
    assert answer.usage is not None and answer.usage.completion_tokens > 0


def test_a_key_that_was_not_generated_is_refused(generated: tuple[Server, Path, dict[str, Any]]) -> None:
    server, keys_file, _ = generated
    entry = sampled(keys_file)[0]
    forged = entry["key"][:-10] + ("A" if entry["key"][-10] != "A" else "B") + entry["key"][-9:]
    with (
        openai.OpenAI(base_url=server.v1, api_key=forged, max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError),
    ):
        sdk.chat.completions.create(model="org-model-1", messages=[{"role": "user", "content": "hi"}])


def test_the_admin_api_lists_what_was_generated(
    generated: tuple[Server, Path, dict[str, Any]], sim: Sim
) -> None:
    server, keys_file, summary = generated
    with server.admin() as admin:
        users = admin.get("/users").json()["items"]
        groups = admin.get("/groups").json()["items"]
        policies = admin.get("/policies").json()["items"]
        models = admin.get("/models").json()["items"]
        keys = admin.get("/keys", params={"limit": 500}).json()["items"]
    assert (len(users), len(groups), len(policies), len(models), len(keys)) == (20, 5, 5, 3, 50)
    assert all(1 <= len(user["groups"]) <= 3 for user in users)
    assert all(len(group["admins"]) == 1 for group in groups)
    assert all(policy["targets"]["groups"] and policy["limits"] for policy in policies)
    assert {model["deployments"][0]["base_url"] for model in models} == {sim.url}
    statuses = sorted(key["status"] for key in keys)
    assert statuses == ["active"] * 49 + ["revoked"]  # one in 33 is revoked
    assert {key["id"] for key in keys} >= {entry["id"] for entry in sampled(keys_file)}
    assert len(sampled(keys_file)) == sum(
        1 for k in keys if k["status"] == "active" and k["owner"].startswith("user:")
    )
    assert summary["revision"] >= 2 and summary["sizes"]["keys"] == 50
