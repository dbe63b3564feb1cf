"""``headwater apply -f DIR --prune``: what apply manages and the files no longer name is deleted, in
the apply's transaction and on the audit trail; what was made by hand and keys never are; a prune
against nothing is refused. Driven through the CLI against a real server (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.resources.gitops import audit, exists, revision, run, write
from tests.support import Server, create_key, doc

pytestmark = pytest.mark.e2e

URL = "http://127.0.0.1:9/v1"


def model(name: str, **spec: Any) -> dict[str, Any]:
    return doc("Model", name, deployments=[{"baseUrl": URL, "upstreamModel": name}], **spec)


TEAM = [
    doc("Group", "team", description="Team", admins=["lead"]),
    doc("User", "lead", email="lead@example.com", groups=["team"]),
    doc("ServiceAccount", "bot", group="team"),
    model("kept"),
    model("gone"),
    doc("Policy", "tier", assets={"models": ["kept"]}, targets={"groups": ["team"]}),
]


def by_hand(server: Server, name: str) -> None:
    """A model created through the JSON admin API (snake_case), as the console does."""
    body = {"name": name, "deployments": [{"base_url": URL, "upstream_model": name}]}
    with server.admin() as admin:
        assert admin.post("/models", json=body).status_code == 201


def key_status(server: Server, key_id: str) -> str:
    with server.admin() as admin:
        status: str = admin.get(f"/keys/{key_id}").json()["status"]
    return status


def test_prune_deletes_what_apply_manages_and_left_the_files(fresh: Server, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo / "a-directory.yaml", *TEAM[:3])
    write(repo / "nested" / "models.yml", *TEAM[3:])
    code, out, err = run(fresh, "apply", "-f", str(repo))
    assert code == 0, err
    assert "serviceaccount/bot created" in out and "policy/tier created" in out
    by_hand(fresh, "by-hand")  # made by hand: never pruned
    with fresh.admin() as admin:
        assert admin.post("/groups", json={"name": "hand-group"}).status_code == 201
    bot_key = create_key(fresh, owner="serviceaccount:bot")
    lead_key = create_key(fresh, owner="user:lead")

    (repo / "a-directory.yaml").unlink()  # group, user and service account leave git
    write(repo / "a-directory.yaml", *TEAM[:2])
    write(repo / "nested" / "models.yml", TEAM[3])
    before = revision(fresh)
    code, out, err = run(fresh, "apply", "-f", str(repo), "--prune", "--dry-run")
    assert code == 0, err
    for line in (
        "model/gone would be deleted",
        "serviceaccount/bot would be deleted",
        "policy/tier would be deleted",
    ):
        assert line in out
    assert "by-hand" not in out and "hand-group" not in out
    assert "dry run, nothing changed" in out
    assert revision(fresh) == before and exists(fresh, "/models/gone")

    code, out, err = run(fresh, "apply", "-f", str(repo), "--prune", "--json")
    assert code == 0, err
    deleted = {(r["kind"], r["name"]) for r in json.loads(out)["results"] if r["action"] == "deleted"}
    assert deleted == {("Model", "gone"), ("ServiceAccount", "bot"), ("Policy", "tier")}
    assert revision(fresh) == before + 1  # one transaction
    assert not exists(fresh, "/models/gone") and not exists(fresh, "/service-accounts/bot")
    assert not exists(fresh, "/policies/tier")
    assert (
        exists(fresh, "/models/by-hand")
        and exists(fresh, "/groups/hand-group")
        and exists(fresh, "/models/kept")
    )
    assert key_status(fresh, bot_key["id"]) == "revoked"  # as the API's delete: the owner's keys go
    assert key_status(fresh, lead_key["id"]) == "active"  # keys themselves are never pruned
    assert [e["action"] for e in audit(fresh, "gone")][-1] == "model.delete"
    bot_trail = [e["action"] for e in audit(fresh, "bot")]
    assert bot_trail[-1] == "serviceaccount.delete"
    assert any(e["action"] == "key.revoke" for e in audit(fresh, bot_key["id"]))

    code, out, _ = run(fresh, "apply", "-f", str(repo), "--prune")
    assert code == 0 and "no changes" in out and revision(fresh) == before + 1


def test_adopted_by_a_later_apply_then_pruned(fresh: Server, tmp_path: Path) -> None:
    by_hand(fresh, "adopt")
    files = write(tmp_path / "one.yaml", model("adopt"), model("other"))
    code, out, err = run(fresh, "apply", "-f", str(files))
    assert code == 0, err
    assert "model/adopt adopted" in out and "+ metadata.managedBy: 'apply'" in out
    entry = audit(fresh, "adopt")[-1]
    assert entry["action"] == "model.update" and "adopted by apply" in entry["detail"]
    assert "no changes" in run(fresh, "apply", "-f", str(files))[1]  # adopted once

    write(files, model("other"))
    code, out, err = run(fresh, "apply", "-f", str(files), "--prune")
    assert code == 0, err
    assert "model/adopt deleted" in out and not exists(fresh, "/models/adopt")


def test_a_group_keeping_hand_made_service_accounts_is_not_pruned(fresh: Server, tmp_path: Path) -> None:
    files = write(tmp_path / "g.yaml", doc("Group", "g2"), model("m2"))
    assert run(fresh, "apply", "-f", str(files))[0] == 0
    with fresh.admin() as admin:
        assert admin.post("/service-accounts", json={"name": "manual-bot", "group": "g2"}).status_code == 201
    write(files, doc("Group", "other"))
    before = revision(fresh)
    code, _, err = run(fresh, "apply", "-f", str(files), "--prune")
    assert code == 1
    assert "cannot prune Group/g2" in err and "manual-bot" in err and "Traceback" not in err
    assert revision(fresh) == before and exists(fresh, "/models/m2") and not exists(fresh, "/groups/other")


def test_prune_refuses_to_run_against_nothing(fresh: Server, tmp_path: Path) -> None:
    assert run(fresh, "apply", "-f", str(write(tmp_path / "m.yaml", model("survivor"))))[0] == 0
    before = revision(fresh)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("not yaml")
    blank = write(tmp_path / "blank" / "nothing.yaml")
    blank.write_text("---\n# nothing here\n---\n")
    broken = tmp_path / "broken"
    write(broken / "a.yaml", model("survivor"))
    (broken / "b.yaml").write_text("kind: [unclosed\n")
    cases = {
        str(empty): f"{empty}: no *.yaml or *.yml files in this directory",
        str(blank.parent): f"{blank.parent}: no documents",
        str(tmp_path / "missing"): f"{tmp_path / 'missing'}: cannot be read",
        str(broken): f"{broken / 'b.yaml'}: not valid YAML",
    }
    for path, message in cases.items():
        code, _, err = run(fresh, "apply", "-f", path, "--prune")
        assert code == 1 and message in err and "Traceback" not in err, (path, err)
    code, _, err = run(fresh, "apply", "-f", "-", "--prune", input="")
    assert code == 1 and "-: no documents" in err
    with fresh.admin() as admin:  # the server refuses too
        refused = admin.post("/apply", json={"documents": [], "prune": True})
    assert refused.status_code == 422 and "refusing to prune with no documents" in refused.text
    assert revision(fresh) == before and exists(fresh, "/models/survivor")


def test_errors_name_the_file_and_the_document(fresh: Server, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo / "a.yaml", model("first"))
    bad = model("second")
    bad["spec"]["deployments"][0]["colour"] = "red"
    write(repo / "sub" / "b.yaml", model("ok"), bad, model("first"))
    code, _, err = run(fresh, "apply", "-f", str(repo), "--prune")
    assert code == 1 and "Traceback" not in err
    assert (
        f"{repo / 'sub' / 'b.yaml'}: document 2 (Model/second): spec.deployments.0.colour: unknown field"
        in err
    )
    second = repo / "sub" / "b.yaml"
    assert (
        f"{second}: document 3 (Model/first): metadata.name: duplicate of {repo / 'a.yaml'}: document 1"
        in err
    )

    write(repo / "sub" / "b.yaml", doc("User", "u", groups=["nowhere"]))  # refused by the server
    code, _, err = run(fresh, "apply", "-f", str(repo), "--prune")
    assert code == 1 and f"{repo / 'sub' / 'b.yaml'}: document 1: spec.groups.0" in err, err
    assert not exists(fresh, "/models/first")
