"""One YAML style: camelCase fields in every kind, the snake_case spellings deprecated.

Driven through `headwater apply` against a running server (and the admin apply endpoint): what a
user writes, what they are told on standard error, and what the JSON admin API then shows.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

from headwater.resources.spelling import translate
from tests.support import Server, Sim, cli

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"

CAMEL = """\
apiVersion: headwater/v1
kind: Group
metadata: {name: style-team}
spec: {description: Style team, costCenter: CC-7, admins: [style-lead]}
---
apiVersion: headwater/v1
kind: User
metadata: {name: style-lead}
spec: {email: lead@example.com, displayName: Style Lead, groups: [style-team], status: active}
---
apiVersion: headwater/v1
kind: ServiceAccount
metadata: {name: style-bot}
spec: {group: style-team, description: CI pipelines, status: active}
---
apiVersion: headwater/v1
kind: Model
metadata: {name: meta-llama/Llama-3.1-8B-Instruct}
spec:
  kind: chat
  access: restricted
  contextWindow: 131072
  maxOutputTokens: 4096
  pricing: {inputPerMillion: "0.20", outputPerMillion: "0.60", currency: USD}
  deployments:
    - provider: openai
      baseUrl: SIM
      upstreamModel: llama
      credentialEnv: HEADWATER_UPSTREAM_STYLE_KEY
      timeout: 30
      deadline: 600
      weight: 2
  limits: [{requests: 100, window: 1m}]
---
apiVersion: headwater/v1
kind: Model
metadata: {name: "llama3.1:8b"}
spec:
  kind: embedding
  deployments: [{baseUrl: SIM, upstreamModel: "llama3.1:8b"}]
---
apiVersion: headwater/v1
kind: Policy
metadata: {name: style-tier}
spec:
  displayName: Style tier
  assets: {models: all}
  targets: {groups: [style-team], users: [style-lead], serviceAccounts: [style-bot]}
  limits: [{inputTokens: 1000, outputTokens: 500, window: 1h, scope: user}]
  budget: {amount: "5", period: monthly, renewsOn: 3, timezone: UTC}
  schedule: {days: [mon, tue], start: "08:00", end: "18:00"}
  overLimit: soft
  priority: 5
"""

SNAKE = """\
apiVersion: headwater/v1
kind: Group
metadata: {name: snake-team}
spec: {cost_center: CC-8}
---
apiVersion: headwater/v1
kind: User
metadata: {name: snake-user}
spec: {display_name: Snake, groups: [snake-team]}
---
apiVersion: headwater/v1
kind: Model
metadata: {name: snake-model}
spec:
  context_window: 8192
  pricing: {input_per_million: "1", output_per_million: "2"}
  deployments:
    - {base_url: SIM, upstream_model: snake, credential_env: HEADWATER_UPSTREAM_SNAKE_KEY}
    - {baseUrl: SIM, upstreamModel: snake-2}
"""

#: The same resources as SNAKE, spelled the new way.
SNAKE_AS_CAMEL = (
    SNAKE.replace("cost_center", "costCenter")
    .replace("display_name", "displayName")
    .replace("context_window", "contextWindow")
    .replace("input_per_million", "inputPerMillion")
    .replace("output_per_million", "outputPerMillion")
    .replace("base_url", "baseUrl")
    .replace("upstream_model", "upstreamModel")
    .replace("credential_env", "credentialEnv")
)

DEPRECATIONS = [
    "document 1 (Group/snake-team): spec.cost_center is deprecated; use costCenter",
    "document 2 (User/snake-user): spec.display_name is deprecated; use displayName",
    "document 3 (Model/snake-model): spec.context_window is deprecated; use contextWindow",
    "document 3 (Model/snake-model): spec.pricing.input_per_million is deprecated; use inputPerMillion",
    "document 3 (Model/snake-model): spec.pricing.output_per_million is deprecated; use outputPerMillion",
    "document 3 (Model/snake-model): spec.deployments.0.base_url is deprecated; use baseUrl",
    "document 3 (Model/snake-model): spec.deployments.0.upstream_model is deprecated; use upstreamModel",
    "document 3 (Model/snake-model): spec.deployments.0.credential_env is deprecated; use credentialEnv",
]


def write(tmp_path: Path, name: str, text: str, sim: Sim) -> str:
    path = tmp_path / name
    path.write_text(text.replace("SIM", sim.url))
    return str(path)


def test_camel_case_applies_for_every_kind_and_round_trips(server: Server, sim: Sim, tmp_path: Path) -> None:
    env = server.cli_env()
    path = write(tmp_path, "camel.yaml", CAMEL, sim)
    dry = cli("apply", "-f", path, "--dry-run", env=env)
    assert dry.returncode == 0 and dry.stderr == "", dry.stderr
    assert (
        f"model/{LLAMA} would be created" in dry.stdout and "model/llama3.1:8b would be created" in dry.stdout
    )
    assert "+ spec.costCenter: 'CC-7'" in dry.stdout
    assert f"+ spec.deployments[0].baseUrl: '{sim.url}'" in dry.stdout
    assert "+ spec.budget.renewsOn: 3" in dry.stdout
    paths = [line.split(":")[0] for line in dry.stdout.splitlines() if line.startswith("    ")]
    assert len(paths) > 30 and not [p for p in paths if "_" in p], paths  # the diff speaks camelCase

    first = cli("apply", "-f", path, env=env)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert "6 created" in first.stdout
    second = cli("apply", "-f", path, env=env)
    assert second.returncode == 0 and second.stderr == ""
    assert "no changes" in second.stdout

    with server.admin() as admin:  # the JSON admin API keeps its own names for the same fields
        group = admin.get("/groups/style-team").json()
        user = admin.get("/users/style-lead").json()
        policy = admin.get("/policies/style-tier").json()
        models = {model["name"]: model for model in admin.get("/models").json()["items"]}
    assert group["cost_center"] == "CC-7" and group["admins"] == ["style-lead"]
    assert user["display_name"] == "Style Lead" and user["groups"] == ["style-team"]
    assert policy["targets"]["serviceAccounts"] == ["style-bot"] and policy["overLimit"] == "soft"
    assert policy["budget"]["renewsOn"] == 3 and policy["limits"][0]["inputTokens"] == 1000
    llama = models[LLAMA]
    assert llama["context_window"] == 131072 and llama["max_output_tokens"] == 4096
    assert Decimal(llama["pricing"]["input_per_million"]) == Decimal("0.20")
    deployment = llama["deployments"][0]
    assert deployment["base_url"].rstrip("/") == sim.url and deployment["upstream_model"] == "llama"
    assert deployment["credential_env"] == "HEADWATER_UPSTREAM_STYLE_KEY" and deployment["weight"] == 2
    assert models["llama3.1:8b"]["kind"] == "embedding"


def test_snake_case_applies_with_one_warning_per_deprecated_field(
    server: Server, sim: Sim, tmp_path: Path
) -> None:
    env = server.cli_env()
    path = write(tmp_path, "snake.yaml", SNAKE, sim)
    expected = [f"warning: {path}: {message}" for message in DEPRECATIONS]

    dry = cli("apply", "-f", path, "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stderr.splitlines() == expected
    assert "model/snake-model would be created" in dry.stdout

    applied = cli("apply", "-f", path, env=env)
    assert applied.returncode == 0
    assert applied.stderr.splitlines() == expected  # printed once: the CLI's own check does not warn
    assert "3 created" in applied.stdout

    as_json = cli("apply", "-f", path, "--json", env=env)
    result = json.loads(as_json.stdout)
    assert result["changed"] is False
    assert [warning["message"] for warning in result["warnings"]] == DEPRECATIONS
    assert result["warnings"][5]["loc"] == ["documents", 2, "spec", "deployments", 0, "base_url"]
    assert as_json.stderr.splitlines() == expected

    camel = cli("apply", "-f", write(tmp_path, "camel.yaml", SNAKE_AS_CAMEL, sim), env=env)
    assert camel.returncode == 0 and camel.stderr == ""
    assert "no changes" in camel.stdout  # both spellings mean the same resources


def test_the_admin_apply_endpoint_reports_deprecations(server: Server, sim: Sim) -> None:
    document = {
        "apiVersion": "headwater/v1",
        "kind": "Group",
        "metadata": {"name": "json-team"},
        "spec": {"costCenter": "CC-1", "description": "d"},
    }
    with server.admin() as admin:
        camel = admin.post("/apply", json={"documents": [document], "dry_run": True})
        document["spec"] = {"cost_center": "CC-1"}
        snake = admin.post("/apply", json={"documents": [document], "dry_run": True})
        document["spec"] = {"cost_center": "CC-1", "costCenter": "CC-2"}
        both = admin.post("/apply", json={"documents": [document], "dry_run": True})
    assert camel.status_code == 200 and camel.json()["warnings"] == []
    assert snake.status_code == 200
    assert snake.json()["warnings"] == [
        {
            "loc": ["documents", 0, "spec", "cost_center"],
            "message": "document 1 (Group/json-team): spec.cost_center is deprecated; use costCenter",
        }
    ]
    assert both.status_code == 422
    detail = both.json()["detail"][0]
    assert detail["loc"] == ["body", "documents", 0, "spec", "costCenter"]
    assert detail["msg"] == "given twice, as cost_center and costCenter: keep only costCenter"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "{deployments: [{baseUrl: 'http://x/v1', upstreamModel: m, base_url: 'http://y/v1'}]}",
            "document 1 (Model/m): spec.deployments.0.base_url: given twice, as baseUrl and base_url: "
            "keep only baseUrl",
        ),
        (
            "{deployments: [{baseUrl: 'http://x/v1', upstreamModel: m, upstreamModelName: m}]}",
            "document 1 (Model/m): spec.deployments.0.upstreamModelName: unknown field",
        ),
        (
            "{deployments: [{baseUrl: 'http://x/v1'}]}",
            "document 1 (Model/m): spec.deployments.0.upstreamModel: Field required",
        ),
        (
            "{contextWindows: 5, deployments: [{baseUrl: 'http://x/v1', upstreamModel: m}]}",
            "document 1 (Model/m): spec.contextWindows: unknown field",
        ),
        (
            "{pricing: {input_per_million: '-1'}, deployments: [{baseUrl: 'http://x/v1', upstreamModel: m}]}",
            "document 1 (Model/m): spec.pricing.input_per_million: "
            "Input should be greater than or equal to 0",
        ),
    ],
)
def test_spelling_errors_name_the_field_as_written(
    server: Server, tmp_path: Path, spec: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"apiVersion: headwater/v1\nkind: Model\nmetadata: {{name: m}}\nspec: {spec}\n")
    result = cli("apply", "-f", str(path), env=server.cli_env())
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {path}: {expected}"


@pytest.mark.parametrize("field", ["credentialEnv", "credential_env"])
def test_server_refusals_name_the_field_as_written(server: Server, tmp_path: Path, field: str) -> None:
    path = tmp_path / "credential.yaml"
    path.write_text(
        "apiVersion: headwater/v1\nkind: Model\nmetadata: {name: leaky}\n"
        f"spec: {{deployments: [{{baseUrl: 'http://x/v1', upstreamModel: m, {field}: HOME}}]}}\n"
    )
    result = cli("apply", "-f", str(path), "--dry-run", env=server.cli_env())
    assert result.returncode == 1
    assert f"{path}: document 1: spec.deployments.0.{field}: " in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("kind", "name", "accepted"),
    [
        ("Model", LLAMA, True),
        ("Model", "llama3.1:8b", True),
        ("Model", "org//model", False),
        ("Model", "org/../model", False),
        ("Model", "/model", False),
        ("Group", "org/team", False),
        ("User", "alice:admin", False),
    ],
)
def test_model_names_may_carry_slashes_and_colons_other_names_not(
    server: Server, tmp_path: Path, kind: str, name: str, accepted: bool
) -> None:
    spec = "{deployments: [{baseUrl: 'http://x/v1', upstreamModel: m}]}" if kind == "Model" else "{}"
    path = tmp_path / "named.yaml"
    path.write_text(
        f"apiVersion: headwater/v1\nkind: {kind}\nmetadata: {{name: {json.dumps(name)}}}\nspec: {spec}\n"
    )
    result = cli("apply", "-f", str(path), "--dry-run", env=server.cli_env())
    if accepted:
        assert result.returncode == 0, result.stderr
        assert f"{kind.lower()}/{name} would be " in result.stdout
    else:
        assert result.returncode == 1
        assert f"{path}: document 1: metadata.name: String should match pattern" in result.stderr


def test_the_example_file_applies_without_warnings(server: Server) -> None:
    example = str(ROOT / "deploy" / "examples" / "resources.yaml")
    first = cli("apply", "-f", example, env=server.cli_env())
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert "policy/devs-rate-limit-standard created" in first.stdout
    second = cli("apply", "-f", example, "--json", env=server.cli_env())
    assert second.returncode == 0 and second.stderr == ""
    assert json.loads(second.stdout)["warnings"] == [] and json.loads(second.stdout)["changed"] is False


class _Limit(BaseModel):
    max_tokens: int | None = None


class _Sample(BaseModel):
    by_team: dict[str, _Limit] = {}
    labels: dict[str, str] = {}
    maybe: _Limit | None = None
    many: list[_Limit] = []


def test_names_follow_nested_models_and_leave_data_keys_alone() -> None:
    written = {
        "byTeam": {"team_a": {"maxTokens": 1}},
        "labels": {"cost_center": "kept as data"},
        "maybe": {"max_tokens": 2},
        "many": [{"maxTokens": 3}],
    }
    fields, spelling = translate(written, _Sample)
    assert fields == {
        "by_team": {"team_a": {"max_tokens": 1}},
        "labels": {"cost_center": "kept as data"},
        "maybe": {"max_tokens": 2},
        "many": [{"max_tokens": 3}],
    }
    assert spelling.deprecated == [(("maybe", "max_tokens"), "maxTokens")]
    assert spelling.loc(("by_team", "team_a", "max_tokens")) == ("byTeam", "team_a", "maxTokens")
    assert _Sample.model_validate(fields).by_team["team_a"].max_tokens == 1
