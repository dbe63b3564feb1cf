"""The `headwater` CLI against a running server: tables, --json, apply, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import Server, Sim, cli, free_port, start_server, stop

pytestmark = pytest.mark.e2e

RESOURCES = """\
apiVersion: headwater/v1
kind: Group
metadata: {{name: devs}}
spec: {{description: Developers, cost_center: CC-42}}
---
apiVersion: headwater/v1
kind: User
metadata: {{name: alice}}
spec: {{email: alice@example.com, groups: [devs]}}
---
---
apiVersion: headwater/v1
kind: ServiceAccount
metadata: {{name: ci-bot}}
spec: {{group: devs, description: CI pipelines}}
---
apiVersion: headwater/v1
kind: Model
metadata:
  name: granite-3.1-8b
spec:
  kind: chat
  access: open
  pricing: {{input_per_million: "0.20", output_per_million: "0.60", currency: USD}}
  deployments:
    - provider: openai
      base_url: {sim}
      upstream_model: granite-3.1-8b
      credential_env: HEADWATER_UPSTREAM_GRANITE_KEY
"""


def no_traceback(output: str) -> None:
    assert "Traceback" not in output


def test_apply_is_idempotent_with_dry_run_diff(server: Server, sim: Sim, tmp_path: Path) -> None:
    env = server.cli_env()
    path = tmp_path / "resources.yaml"
    path.write_text(RESOURCES.format(sim=sim.url))
    dry = cli("apply", "-f", str(path), "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "model/granite-3.1-8b would be created" in dry.stdout
    assert "+ spec.pricing.inputPerMillion: '0.2'" in dry.stdout
    assert "nothing changed" in dry.stdout
    assert "granite-3.1-8b" not in cli("models", "list", "--json", env=env).stdout  # dry run changed nothing

    first = cli("apply", "-f", str(path), env=env)
    assert first.returncode == 0, first.stderr
    assert "group/devs created" in first.stdout and "4 created" in first.stdout
    second = cli("apply", "-f", str(path), env=env)
    assert second.returncode == 0
    assert "no changes" in second.stdout and "created" not in second.stdout

    path.write_text(RESOURCES.format(sim=sim.url).replace('"0.20"', '"0.25"'))
    changed = cli("apply", "-f", str(path), "--dry-run", env=env)
    assert "model/granite-3.1-8b would be updated" in changed.stdout
    assert "~ spec.pricing.inputPerMillion: '0.2' -> '0.25'" in changed.stdout
    as_json = json.loads(cli("apply", "-f", str(path), "--json", env=env).stdout)
    assert as_json["changed"] is True
    assert [r["action"] for r in as_json["results"]] == ["unchanged", "unchanged", "unchanged", "updated"]
    models = json.loads(cli("models", "list", "--json", env=env).stdout)["items"]
    assert models[0]["pricing"]["input_per_million"] == "0.25"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "apiVersion: headwater/v1\nkind: Gadget\nmetadata: {name: x}\n",
            "document 1 (Gadget/x): kind: unknown kind",
        ),
        (
            "apiVersion: headwater/v1\nkind: Group\nmetadata: {name: ok}\n---\n"
            "apiVersion: headwater/v1\nkind: Model\nmetadata: {name: m}\n"
            "spec: {deployments: [{base_url: 'http://x/v1', upstream_model: m, colour: red}]}\n",
            "document 2 (Model/m): spec.deployments.0.colour: unknown field",
        ),
        (
            "apiVersion: headwater/v1\nkind: User\nmetadata: {name: u}\nspec: {emial: a@b.c}\n",
            "spec.emial: unknown field",
        ),
        ("apiVersion: v2\nkind: Group\nmetadata: {name: g}\n", "apiVersion: must be headwater/v1"),
        ("kind: Group\nmetadata: {name: g}\n", "document 1: apiVersion: Field required"),
        ("key: [unclosed\n", "not valid YAML"),
        ("", "no documents"),
    ],
)
def test_apply_errors_name_file_document_and_field(
    server: Server, tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = cli("apply", "-f", str(path), env=server.cli_env())
    assert result.returncode == 1
    assert expected in result.stderr, result.stderr
    assert str(path) in result.stderr
    no_traceback(result.stderr)


def test_apply_reports_server_side_reference_errors(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "refs.yaml"
    path.write_text(
        "apiVersion: headwater/v1\nkind: User\nmetadata: {name: bob}\nspec: {groups: [nowhere]}\n"
    )
    result = cli("apply", "-f", str(path), env=server.cli_env())
    assert result.returncode == 1
    assert "document 1: spec.groups.0: group 'nowhere' does not exist" in result.stderr
    no_traceback(result.stderr)


def test_keys_create_list_show_revoke(server: Server, sim: Sim) -> None:
    env = server.cli_env()
    created = cli("keys", "create", "--name", "cli-key", "--expires-in", "30d", "--json", env=env)
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert {"id", "key", "prefix"} <= set(key) and key["key"].startswith("hwk_")
    table = cli("keys", "create", "--name", "shown-once", env=env)
    assert "hwk_" in table.stdout and "shown once" in table.stdout

    listed = json.loads(cli("keys", "list", "--json", env=env).stdout)
    assert key["id"] in {item["id"] for item in listed["items"]}
    assert "key" not in json.dumps(listed["items"][0]).replace('"key_', "")  # no secrets in lists
    assert "cli-key" in cli("keys", "list", env=env).stdout
    shown = json.loads(cli("keys", "show", key["id"], "--json", env=env).stdout)
    assert shown["name"] == "cli-key" and "key" not in shown
    revoked = cli("keys", "revoke", key["id"], env=env)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert json.loads(cli("keys", "show", key["id"], "--json", env=env).stdout)["status"] == "revoked"

    missing = cli("keys", "show", "nope", env=env)
    assert missing.returncode == 1 and missing.stderr.strip() == "error: API key nope not found"
    bad_owner = cli("keys", "create", "--name", "x", "--owner", "user:ghost", env=env)
    assert bad_owner.returncode == 1 and "owner: user:ghost does not exist" in bad_owner.stderr


def test_usage_tail(server: Server, sim: Sim) -> None:
    import openai

    from tests.support import apply, create_key, model_doc, usage_events, wait_for

    apply(server, model_doc("tail-model", sim.url))
    key = create_key(server, name="tailer")
    with openai.OpenAI(base_url=server.v1, api_key=key["key"], max_retries=0) as sdk:
        sdk.chat.completions.create(model="tail-model", messages=[{"role": "user", "content": "hi"}])
    wait_for(lambda: usage_events(server, key_id=key["id"]))
    result = cli("usage", "tail", "--no-follow", "--key", key["id"], env=server.cli_env())
    assert result.returncode == 0 and "tail-model" in result.stdout and "success" in result.stdout
    lines = cli("usage", "tail", "--no-follow", "--json", "--key", key["id"], env=server.cli_env()).stdout
    event = json.loads(lines.splitlines()[0])
    assert event["model"] == "tail-model" and event["key_id"] == key["id"]


def test_errors_are_one_line_without_traceback(server: Server) -> None:
    down = cli(
        "keys", "list", env={"HEADWATER_URL": f"http://127.0.0.1:{free_port()}", "HEADWATER_TOKEN": "x"}
    )
    assert down.returncode == 1 and down.stderr.startswith("error: cannot reach Headwater")
    assert len(down.stderr.strip().splitlines()) == 1
    unauthorised = cli("models", "list", env={"HEADWATER_URL": server.url, "HEADWATER_TOKEN": "wrong"})
    assert unauthorised.returncode == 1 and "not authorised" in unauthorised.stderr
    missing = cli("apply", "-f", "/nonexistent.yaml", env=server.cli_env())
    assert missing.returncode == 1 and "/nonexistent.yaml" in missing.stderr
    bad_setting = cli("migrate", env={"HEADWATER_DATABASE_URL": "mysql://nope"})
    assert bad_setting.returncode == 1 and "invalid setting database_url" in bad_setting.stderr
    for result in (down, unauthorised, missing, bad_setting):
        no_traceback(result.stderr + result.stdout)


def test_migrate_and_generated_admin_token(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    migrated = cli("migrate", env={"HEADWATER_DATABASE_URL": url})
    assert migrated.returncode == 0 and "revision 0009" in migrated.stdout

    first = start_server(url, extra_env={"HEADWATER_ADMIN_TOKEN": ""})
    first_output = stop(first.process)
    token = next(line.strip() for line in first_output.splitlines() if line.strip().startswith("hwadm_"))
    second = start_server(url, extra_env={"HEADWATER_ADMIN_TOKEN": ""})
    try:
        listed = cli("keys", "list", "--json", env={"HEADWATER_URL": second.url, "HEADWATER_TOKEN": token})
        assert listed.returncode == 0, listed.stderr
    finally:
        second_output = stop(second.process)
    assert "hwadm_" not in second_output  # printed once, at the first start only


def test_the_example_resources_apply(server: Server) -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "resources.yaml"
    result = cli("apply", "-f", str(example), "--dry-run", env=server.cli_env())
    assert result.returncode == 0, result.stderr
    assert "policy/devs-rate-limit-standard would be created" in result.stdout
    assert "model/granite-3.1-8b would be" in result.stdout
