"""Every state change of models, policies, users, groups, service accounts and apply is on record.

Through a real server: each change writes one audit event in its transaction (actor, action,
target, before/after with secrets redacted, the request id the response echoed, source IP); a
change that fails writes nothing; a dry run writes nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from headwater.audit.record import Entry, Origin, record_alone
from headwater.storage.sql.database import create_engine
from tests.support import Server, create_key, doc

pytestmark = pytest.mark.e2e

UPSTREAM = "http://upstream.example:8000/v1"
SECRET_URL = "http://svc:s3cr3t-pass@upstream.example:8000/v1"


@pytest.fixture
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.admin() as client:
        yield client


def model_spec(base_url: str = UPSTREAM, **extra: Any) -> dict[str, Any]:
    return {"deployments": [{"base_url": base_url, "upstream_model": "m", **extra}]}


def events(admin: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = admin.get("/audit/events", params={"limit": 500, **params})
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def head(admin: httpx.Client) -> int:
    seq: int = admin.get("/audit/head").json()["seq"]
    return seq


def one_event(admin: httpx.Client, response: httpx.Response, action: str, target: str) -> dict[str, Any]:
    """The single event ``response``'s request wrote, checked against what every event must hold."""
    assert response.is_success, response.text
    request_id = response.headers["x-request-id"]
    found = [e for e in events(admin, action=action, target=target) if e["request_id"] == request_id]
    assert len(found) == 1, found
    event = found[0]
    assert event["actor"] == "admin:bootstrap"
    assert event["outcome"] == "success"
    assert event["target_id"] == target
    assert event["target_type"] == action.partition(".")[0]
    assert event["source_ip"] == "127.0.0.1"
    return event


def test_model_changes_are_recorded_with_credentials_redacted(admin: httpx.Client) -> None:
    created = admin.post("/models", json={"name": "aud-model", **model_spec(SECRET_URL)})
    event = one_event(admin, created, "model.create", "aud-model")
    assert event["before"] is None
    deployment = event["after"]["deployments"][0]
    assert deployment["base_url"] == "http://[redacted]@upstream.example:8000/v1"
    assert "s3cr3t" not in str(event)
    assert event["after"]["name"] == "aud-model"

    replaced = admin.put(
        "/models/aud-model",
        json={**model_spec(credential_env="HEADWATER_UPSTREAM_AUD_KEY"), "description": "v2"},
    )
    event = one_event(admin, replaced, "model.update", "aud-model")
    assert event["before"]["description"] == "" and event["after"]["description"] == "v2"
    assert "s3cr3t" not in str(event["before"])
    assert (
        event["after"]["deployments"][0]["credential_env"] == "HEADWATER_UPSTREAM_AUD_KEY"
    )  # a reference, kept

    put_new = admin.put("/models/aud-model-2", json=model_spec())
    assert one_event(admin, put_new, "model.create", "aud-model-2")["after"]["name"] == "aud-model-2"

    deleted = admin.delete("/models/aud-model")
    event = one_event(admin, deleted, "model.delete", "aud-model")
    assert event["before"]["description"] == "v2" and event["after"] is None


def test_policy_changes_are_recorded(admin: httpx.Client) -> None:
    admin.put("/groups/aud-policy-group", json={}).raise_for_status()
    body = {"targets": {"groups": ["aud-policy-group"]}, "limits": [{"requests": 5, "window": "1m"}]}
    created = admin.post(
        "/policies", json={"name": "aud-policy", **body}, headers={"X-Request-Id": "req-pol-1"}
    )
    assert created.headers["x-request-id"] == "req-pol-1"
    event = one_event(admin, created, "policy.create", "aud-policy")
    assert event["request_id"] == "req-pol-1"
    assert event["after"]["limits"][0]["requests"] == 5 and event["before"] is None

    updated = admin.put("/policies/aud-policy", json={**body, "priority": 7})
    event = one_event(admin, updated, "policy.update", "aud-policy")
    assert (event["before"]["priority"], event["after"]["priority"]) == (0, 7)

    deleted = admin.delete("/policies/aud-policy")
    event = one_event(admin, deleted, "policy.delete", "aud-policy")
    assert event["before"]["priority"] == 7 and event["after"] is None


def test_directory_changes_are_recorded(admin: httpx.Client) -> None:
    group = admin.post("/groups", json={"name": "aud-team", "description": "first"})
    event = one_event(admin, group, "group.create", "aud-team")
    assert event["after"]["description"] == "first" and event["after"]["admins"] == []

    user = admin.post("/users", json={"name": "aud-ursula", "groups": ["aud-team"]})
    event = one_event(admin, user, "user.create", "aud-ursula")
    assert event["after"]["groups"] == ["aud-team"]
    user = admin.put("/users/aud-ursula", json={"groups": [], "display_name": "Ursula"})
    event = one_event(admin, user, "user.update", "aud-ursula")
    assert event["before"]["groups"] == ["aud-team"] and event["after"]["groups"] == []

    group = admin.put("/groups/aud-team", json={"description": "second", "admins": ["aud-ursula"]})
    event = one_event(admin, group, "group.update", "aud-team")
    assert event["before"]["admins"] == [] and event["after"]["admins"] == ["aud-ursula"]
    assert group.json()["admins"] == ["aud-ursula"]

    account = admin.post("/service-accounts", json={"name": "aud-bot", "group": "aud-team"})
    event = one_event(admin, account, "serviceaccount.create", "aud-bot")
    assert event["after"]["group"] == "aud-team"
    account = admin.put("/service-accounts/aud-bot", json={"group": "aud-team", "description": "ci"})
    event = one_event(admin, account, "serviceaccount.update", "aud-bot")
    assert event["before"]["description"] == "" and event["after"]["description"] == "ci"
    key = create_key_for(admin, "serviceaccount:aud-bot")
    deleted = admin.delete("/service-accounts/aud-bot")
    event = one_event(admin, deleted, "serviceaccount.delete", "aud-bot")
    assert event["after"] is None
    revoked = one_event(admin, deleted, "key.revoke", key)
    assert revoked["before"]["status"] == "active" and revoked["after"]["status"] == "revoked"

    deleted = admin.delete("/users/aud-ursula")  # she administers aud-team: she leaves its admins
    one_event(admin, deleted, "user.delete", "aud-ursula")
    event = one_event(admin, deleted, "group.update", "aud-team")
    assert event["before"]["admins"] == ["aud-ursula"] and event["after"]["admins"] == []
    assert admin.get("/groups/aud-team").json()["admins"] == []

    deleted = admin.delete("/groups/aud-team")
    event = one_event(admin, deleted, "group.delete", "aud-team")
    assert event["before"]["description"] == "second" and event["after"] is None


def create_key_for(admin: httpx.Client, owner: str) -> str:
    response = admin.post("/keys", json={"name": "aud", "owner": owner})
    response.raise_for_status()
    key_id: str = response.json()["id"]
    return key_id


def test_deleting_a_user_records_the_revocation_of_each_key(admin: httpx.Client, server: Server) -> None:
    admin.put("/users/aud-kim", json={}).raise_for_status()
    ids = sorted(create_key(server, owner="user:aud-kim")["id"] for _ in range(2))
    already = create_key(server, owner="user:aud-kim")["id"]
    admin.post(f"/keys/{already}/revoke").raise_for_status()
    deleted = admin.delete("/users/aud-kim")
    assert deleted.status_code == 204
    request_id = deleted.headers["x-request-id"]
    revocations = [e for e in events(admin, action="key.revoke") if e["request_id"] == request_id]
    assert sorted(e["target_id"] for e in revocations) == ids  # not the key revoked before
    for event in revocations:
        assert event["after"]["status"] == "revoked" and event["after"]["owner"] == "user:aud-kim"
        assert "user:aud-kim" in event["detail"]
    assert one_event(admin, deleted, "user.delete", "aud-kim")["before"]["name"] == "aud-kim"


def test_a_failed_change_records_nothing(admin: httpx.Client) -> None:
    admin.put("/models/aud-dup", json=model_spec()).raise_for_status()
    before = head(admin)
    assert admin.post("/models", json={"name": "aud-dup", **model_spec()}).status_code == 409
    unknown_group = admin.put("/users/aud-nobody", json={"groups": ["no-such-group"]})
    assert unknown_group.status_code == 422
    assert unknown_group.json()["detail"][0]["loc"] == ["body", "groups", 0]
    unknown_admin = admin.put("/groups/aud-bad", json={"admins": ["no-such-user"]})
    assert unknown_admin.status_code == 422
    assert unknown_admin.json()["detail"][0]["loc"] == ["body", "admins", 0]
    assert admin.delete("/policies/no-such-policy").status_code == 404
    assert head(admin) == before
    assert admin.get("/groups/aud-bad").status_code == 404  # rolled back, with its audit event


def test_apply_records_each_changed_resource_and_a_dry_run_nothing(admin: httpx.Client) -> None:
    suffix = uuid.uuid4().hex[:6]
    group, user, model = f"ap-team-{suffix}", f"ap-user-{suffix}", f"ap-model-{suffix}"
    documents = [
        doc("Group", group, admins=[user]),  # its admin comes in the same documents
        doc("User", user, groups=[group]),
        doc("Model", model, **model_spec(SECRET_URL)),
        doc("Policy", f"ap-policy-{suffix}", targets={"users": [user]}),
    ]
    before = head(admin)
    dry = admin.post("/apply", json={"documents": documents, "dry_run": True})
    assert dry.status_code == 200 and dry.json()["changed"] is True
    assert head(admin) == before

    applied = admin.post("/apply", json={"documents": documents})
    assert applied.status_code == 200, applied.text
    assert [r["action"] for r in applied.json()["results"]] == ["created"] * 4
    request_id = applied.headers["x-request-id"]
    recorded = {(e["action"], e["target_id"]): e for e in events(admin) if e["request_id"] == request_id}
    assert set(recorded) == {
        ("group.create", group),
        ("user.create", user),
        ("model.create", model),
        ("policy.create", f"ap-policy-{suffix}"),
    }
    assert recorded[("group.create", group)]["after"]["admins"] == [user]
    assert "s3cr3t" not in str(recorded[("model.create", model)])
    assert admin.get(f"/groups/{group}").json()["admins"] == [user]

    unchanged_from = head(admin)
    again = admin.post("/apply", json={"documents": documents})
    assert again.json()["changed"] is False
    assert head(admin) == unchanged_from

    documents[2] = doc("Model", model, description="now described", **model_spec(SECRET_URL))
    changed = admin.post("/apply", json={"documents": documents})
    assert [r["action"] for r in changed.json()["results"]] == [
        "unchanged",
        "unchanged",
        "updated",
        "unchanged",
    ]
    event = one_event(admin, changed, "model.update", model)
    assert event["before"]["description"] == "" and event["after"]["description"] == "now described"
    assert [e for e in events(admin) if e["request_id"] == changed.headers["x-request-id"]] == [event]


def test_apply_checks_group_admins(admin: httpx.Client) -> None:
    before = head(admin)
    response = admin.post("/apply", json={"documents": [doc("Group", "ap-orphans", admins=["no-such-user"])]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["documents", 0, "spec", "admins", 0]
    assert head(admin) == before


FORMULAS = {"eq": "=1+2", "plus": "+1", "minus": "-2+3", "at": "@SUM(A1)", "tab": "\tx", "cr": "\rx"}


def test_the_csv_export_neutralises_formula_cells(admin: httpx.Client, server: Server) -> None:
    """Each formula start gets a leading ' in the CSV; the JSON API keeps what was stored."""
    marker = f"csv-{uuid.uuid4().hex[:8]}"

    async def write() -> None:
        engine = create_engine(server.database_url)
        try:
            for name, text in FORMULAS.items():
                origin = Origin(actor=f"{text}-actor", request_id=f"{marker}-{name}", source_ip=None)
                entry = Entry("user.sign_in", "user", text, outcome="failure", detail=text)
                await record_alone(engine, origin, entry)
            plain = Origin(actor="system", request_id=f"{marker}-plain", source_ip=None)
            await record_alone(engine, plain, Entry("user.sign_in", "user", "bob", detail="plain text"))
        finally:
            await engine.dispose()

    asyncio.run(write())
    response = admin.get("/audit/events.csv", params={"action": "user.sign_in"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = {row["request_id"]: row for row in csv.DictReader(io.StringIO(response.text, newline=""))}
    for name, text in FORMULAS.items():
        row = rows[f"{marker}-{name}"]
        assert row["detail"] == "'" + text
        assert row["target_id"] == "'" + text
        assert row["actor"] == "'" + text + "-actor"
    plain = rows[f"{marker}-plain"]
    assert plain["detail"] == "plain text" and plain["target_id"] == "bob" and plain["actor"] == "system"
    stored = {e["request_id"]: e for e in events(admin, action="user.sign_in")}
    assert stored[f"{marker}-eq"]["detail"] == "=1+2"  # the JSON API keeps the stored value
