"""``headwater export`` and ``headwater diff -f PATH`` against a real server (SQLite and PostgreSQL).

export then apply changes nothing (the revision does not move), ``export | diff -f -`` exits 0; diff
shows each difference as a unified diff of YAML and exits 1, 2 on an error, changing nothing itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.resources.gitops import revision, run, write
from tests.resources.test_yaml_style import CAMEL
from tests.support import Server, doc

pytestmark = pytest.mark.e2e

URL = "http://127.0.0.1:9/v1"
DOCUMENTS = CAMEL.replace("SIM", URL)


def test_export_then_apply_changes_nothing(fresh: Server, tmp_path: Path) -> None:
    code, _, err = run(fresh, "apply", "-f", "-", input=DOCUMENTS)
    assert code == 0, err
    with fresh.admin() as admin:  # made by hand: the first apply of the export adopts it
        body = {
            "name": "hand",
            "description": "by hand",
            "deployments": [{"base_url": URL, "upstream_model": "h"}],
        }
        assert admin.post("/models", json=body).status_code == 201
    code, exported, err = run(fresh, "export")
    assert code == 0 and err == "", err
    documents = list(yaml.safe_load_all(exported))
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("Group", "style-team"),
        ("User", "style-lead"),
        ("ServiceAccount", "style-bot"),
        ("Model", "hand"),
        ("Model", "llama3.1:8b"),
        ("Model", "meta-llama/Llama-3.1-8B-Instruct"),
        ("Policy", "style-tier"),
    ]
    assert all(set(d) == {"apiVersion", "kind", "metadata", "spec"} for d in documents)
    for word in ("created", "updated", "managed", "subject", fresh.token):
        assert word not in exported
    code, out, err = run(fresh, "apply", "-f", "-", "--json", input=exported)
    assert code == 0 and err == "", err
    actions = {r["name"]: r["action"] for r in json.loads(out)["results"]}
    assert actions.pop("hand") == "adopted" and set(actions.values()) == {"unchanged"}

    before = revision(fresh)
    code, again, _ = run(fresh, "export")
    assert code == 0 and again == exported  # stable
    code, out, err = run(fresh, "apply", "-f", "-", "--prune", input=again)
    assert code == 0 and "no changes" in out, out + err
    assert revision(fresh) == before
    code, out, err = run(fresh, "diff", "-f", "-", input=again)
    assert (code, out) == (0, ""), out + err


def test_diff_shows_drift_and_exits_1(fresh: Server, tmp_path: Path) -> None:
    granite = doc(
        "Model",
        "granite",
        pricing={"inputPerMillion": "0.20", "outputPerMillion": "0.60", "currency": "USD"},
        deployments=[{"baseUrl": URL, "upstreamModel": "granite"}],
    )
    old = doc("Model", "old", deployments=[{"baseUrl": URL, "upstreamModel": "old"}])
    files = write(tmp_path / "repo" / "models.yaml", granite, old)
    assert run(fresh, "apply", "-f", str(files.parent))[0] == 0
    assert run(fresh, "diff", "-f", str(files.parent))[:2] == (0, "")

    with fresh.admin() as admin:  # drift: someone edits the live system by hand
        live = admin.get("/models/granite").json()
        live["pricing"]["input_per_million"] = "0.25"
        body = {key: live[key] for key in ("kind", "access", "description", "pricing", "deployments")}
        assert admin.put("/models/granite", json=body).status_code == 200
    new = doc("Model", "new", deployments=[{"baseUrl": URL, "upstreamModel": "new"}])
    write(files, granite, new)  # and git moved on: old removed, new added
    before = revision(fresh)
    code, out, err = run(fresh, "diff", "-f", str(files.parent))
    assert code == 1, out + err
    assert "# Model/granite: apply updates it\n--- live/Model/granite\n+++ file/Model/granite\n" in out
    assert "-    inputPerMillion: '0.25'\n+    inputPerMillion: '0.2'\n" in out
    assert "# Model/new: not live: apply creates it\n" in out, out
    assert "+    upstreamModel: new\n" in out and "+++ file/Model/new\n" in out
    assert "# Model/old: managed by apply, in no document: apply --prune deletes it\n" in out
    assert "-    upstreamModel: old\n" in out
    assert "3 of the resources differ" in err
    assert revision(fresh) == before  # diff changes nothing

    assert run(fresh, "apply", "-f", str(files.parent), "--prune")[0] == 0
    assert run(fresh, "diff", "-f", str(files.parent))[:2] == (0, "")


def test_diff_errors_exit_2(fresh: Server, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", doc("Model", "m", deployments=[{"baseUrl": URL}]))
    code, out, err = run(fresh, "diff", "-f", str(bad))
    assert code == 2 and out == ""
    assert f"{bad}: document 1 (Model/m): spec.deployments.0.upstreamModel: Field required" in err
    unknown_group = write(tmp_path / "ref.yaml", doc("User", "u", groups=["nowhere"]))
    code, _, err = run(fresh, "diff", "-f", str(unknown_group))
    assert code == 2 and f"{unknown_group}: document 1: spec.groups.0" in err and "Traceback" not in err
    assert run(fresh, "diff", "-f", str(tmp_path / "missing"))[0] == 2
    assert run(fresh, "diff")[0] == 2  # no -f: a usage error


def test_export_by_kind_and_never_a_secret(fresh: Server) -> None:
    documents = [
        doc("Group", "g"),
        doc(
            "Model",
            "m",
            deployments=[{"baseUrl": "http://svc:s3cret-pass@127.0.0.1:9/v1", "upstreamModel": "m"}],
        ),
    ]
    code, _, err = run(fresh, "apply", "-f", "-", input=yaml.safe_dump_all(documents))
    assert code == 0, err
    code, out, err = run(fresh, "export", "--kind", "models")
    assert code == 0
    (model,) = yaml.safe_load_all(out)
    assert model["kind"] == "Model"
    assert model["spec"]["deployments"][0]["baseUrl"] == "http://svc:REDACTED@127.0.0.1:9/v1"
    assert "s3cret" not in out + err
    assert "Model/m: spec.deployments.0.baseUrl holds a password" in err
    code, _, err = run(fresh, "diff", "-f", "-", input=yaml.safe_dump_all(documents[:1]))
    assert code == 1 and "s3cret" not in err
    code, _, err = run(fresh, "export", "--kind", "Widget")
    assert code == 1 and "unknown kind (known: Group, User, ServiceAccount, Model, Policy)" in err
