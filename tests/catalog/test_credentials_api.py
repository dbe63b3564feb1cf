"""Stored credentials through the admin API and the gateway, on SQLite and PostgreSQL.

The value goes in once and never comes out: not in a read, an audit entry, an error or the server's
log (debug level, access log on), and not in the database either (only its ciphertext). A deployment
that names the credential sends it upstream, and a replaced value is used by the next call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from headwater.catalog.secret_box import generate_key, key_id, parse_key
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.tables import credentials
from tests.catalog.credential_upstream import Upstream
from tests.support import Server, create_key, model_doc, output, start_server, stop

pytestmark = pytest.mark.e2e

KEY = generate_key()
FIRST = "sk-" + "first-value-3f9a1c77e2"
SECOND = "sk-" + "second-value-8b20d4e611"
VALUES = (FIRST, SECOND)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    started = Upstream(FIRST)
    yield started
    started.close()


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    env = {"HEADWATER_SECRET_KEY": KEY, "HEADWATER_LOG_LEVEL": "debug", "HEADWATER_ACCESS_LOG": "true"}
    started = start_server(database_url, extra_env=env)
    yield started
    log = stop(started.process)
    assert not any(value in log for value in VALUES), "a credential's value reached the server's log"


def chat(server: Server, key: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{server.v1}/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


def no_value_in(*texts: str) -> None:
    for text in texts:
        assert not any(value in text for value in VALUES), text[:300]


def stored_rows(database_url: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                return [dict(row) for row in (await conn.execute(select(credentials))).mappings()]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_a_stored_credential_is_sent_upstream_and_a_new_value_used_at_once(
    server: Server, upstream: Upstream
) -> None:
    upstream.expected = FIRST  # one upstream serves both backends' runs
    with server.admin() as admin:
        created = admin.put("/credentials/openai-prod", json={"value": FIRST, "description": "OpenAI"})
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["name"] == "openai-prod" and body["set"] is True and body["used_by"] == []
        assert set(body) == {"name", "description", "set", "created_at", "updated_at", "used_by"}
        model = model_doc("stored-keyed", upstream.url, deployment={"credential": "openai-prod"})
        made = admin.post("/models", json={"name": "stored-keyed", **model["spec"]})
        assert made.status_code == 201, made.text
        assert made.json()["deployments"][0]["credential"] == "openai-prod"
        key = create_key(server, models=["stored-keyed"])["key"]
        before = len(upstream.seen)
        first = chat(server, key, "stored-keyed")
        assert first.status_code == 200, first.text
        assert upstream.seen[before:] == [f"Bearer {FIRST}"]

        upstream.expected = SECOND  # the provider rotated the key: the old one is refused now
        refused = chat(server, key, "stored-keyed")
        assert refused.status_code == 502 and refused.json()["error"]["code"] == "upstream_auth_failed"
        replaced = admin.put("/credentials/openai-prod", json={"value": SECOND, "description": "OpenAI"})
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["used_by"] == ["stored-keyed"]
        assert replaced.json()["updated_at"] > body["updated_at"]
        before = len(upstream.seen)
        again = chat(server, key, "stored-keyed")  # no restart
        assert again.status_code == 200, again.text
        assert upstream.seen[before:] == [f"Bearer {SECOND}"]

        listed = admin.get("/credentials")
        shown = admin.get("/credentials/openai-prod")
        models = admin.get("/models/stored-keyed")
        assert [item["name"] for item in listed.json()["items"]] == ["openai-prod"]
        assert shown.json()["used_by"] == ["stored-keyed"]
        no_value_in(created.text, replaced.text, listed.text, shown.text, models.text, refused.text)


def test_the_database_holds_only_ciphertext(server: Server, database_url: str) -> None:
    with server.admin() as admin:
        assert admin.put("/credentials/at-rest", json={"value": FIRST}).status_code in (200, 201)
    row = next(row for row in stored_rows(database_url) if row["name"] == "at-rest")
    assert FIRST.encode() not in bytes(row["ciphertext"]) and FIRST.encode() not in bytes(row["nonce"])
    assert row["key_id"] == key_id(parse_key(KEY))
    assert len(bytes(row["nonce"])) == 12


def test_changes_are_audited_without_the_value(server: Server, upstream: Upstream) -> None:
    with server.admin() as admin:
        assert admin.put("/credentials/audited", json={"value": FIRST}).status_code == 201
        assert (
            admin.put("/credentials/audited", json={"value": SECOND, "description": "x"}).status_code == 200
        )
        assert admin.delete("/credentials/audited").status_code == 204
        events = admin.get("/audit/events", params={"target": "audited", "order": "asc"})
        exported = admin.get("/audit/events.csv", params={"action": "credential."})
    assert events.status_code == 200, events.text
    actions = [event["action"] for event in events.json()["items"]]
    assert actions == ["credential.create", "credential.update", "credential.delete"]
    update = events.json()["items"][1]
    assert update["before"]["description"] == "" and update["after"]["description"] == "x"
    no_value_in(events.text, exported.text)


def test_a_model_may_name_only_a_stored_credential(server: Server, upstream: Upstream) -> None:
    spec = model_doc("needs-cred", upstream.url, deployment={"credential": "nowhere"})["spec"]
    document = model_doc("needs-cred", upstream.url, deployment={"credential": "nowhere"})
    with server.admin() as admin:
        created = admin.post("/models", json={"name": "needs-cred", **spec})
        replaced = admin.put("/models/needs-cred", json=spec)
        applied = admin.post("/apply", json={"documents": [document], "dry_run": True})
        both = admin.post(
            "/models",
            json={
                "name": "both",
                **spec,
                "deployments": [{**spec["deployments"][0], "credential_env": "HEADWATER_UPSTREAM_X"}],
            },
        )
        bad_name = admin.post(
            "/models",
            json={"name": "bad", **spec, "deployments": [{**spec["deployments"][0], "credential": "a b"}]},
        )
        assert admin.get("/models/needs-cred").status_code == 404
    for response, loc in (
        (created, ["body", "deployments", 0, "credential"]),
        (replaced, ["body", "deployments", 0, "credential"]),
        (applied, ["documents", 0, "spec", "deployments", 0, "credential"]),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == loc
        assert "unknown credential 'nowhere'" in response.json()["detail"][0]["msg"]
    assert both.status_code == 422 and "not both" in both.text
    assert bad_name.status_code == 422
    assert bad_name.json()["detail"][0]["loc"] == ["body", "deployments", 0, "credential"]


def test_apply_names_a_credential_by_reference(server: Server, upstream: Upstream) -> None:
    with server.admin() as admin:
        assert admin.put("/credentials/applied", json={"value": FIRST}).status_code == 201
        document = model_doc("applied-model", upstream.url, deployment={"credential": "applied"})
        result = admin.post("/apply", json={"documents": [document]})
        assert result.status_code == 200, result.text
        assert result.json()["results"][0]["action"] == "created"
        again = admin.post("/apply", json={"documents": [document]})
        assert again.json()["results"][0]["action"] == "unchanged"
        assert admin.get("/credentials/applied").json()["used_by"] == ["applied-model"]
        events = admin.get("/audit/events", params={"target": "applied-model"}).json()["items"]
    assert events[0]["after"]["deployments"][0]["credential_name"] == "applied"


def test_a_credential_in_use_cannot_be_deleted(server: Server, upstream: Upstream) -> None:
    with server.admin() as admin:
        assert admin.put("/credentials/in-use", json={"value": FIRST}).status_code == 201
        for name in ("user-b", "user-a"):
            spec = model_doc(name, upstream.url, deployment={"credential": "in-use"})["spec"]
            assert admin.put(f"/models/{name}", json=spec).status_code == 200
        refused = admin.delete("/credentials/in-use")
        assert refused.status_code == 409, refused.text
        assert "user-a, user-b" in refused.json()["detail"]
        assert admin.get("/credentials/in-use").status_code == 200
        for name in ("user-a", "user-b"):
            assert admin.delete(f"/models/{name}").status_code == 204
        assert admin.delete("/credentials/in-use").status_code == 204
        assert admin.get("/credentials/in-use").status_code == 404
        assert admin.delete("/credentials/in-use").status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/credentials/ok-name", {"value": ""}, ["body", "value"]),
        ("/credentials/ok-name", {"value": f"{FIRST}\nX-Injected: 1"}, ["body", "value"]),
        ("/credentials/ok-name", {"value": f" {FIRST}"}, ["body", "value"]),
        ("/credentials/ok-name", {"value": "x" * 8193}, ["body", "value"]),
        ("/credentials/ok-name", {"description": "no value"}, ["body", "value"]),
        ("/credentials/ok-name", {"value": FIRST, "extra": 1}, ["body", "extra"]),
        ("/credentials/bad%20name", {"value": FIRST}, ["path", "name"]),
        ("/credentials/-dash", {"value": FIRST}, ["path", "name"]),
    ],
)
def test_bad_input_names_the_field_and_never_echoes_the_value(
    server: Server, path: str, body: dict[str, Any], loc: list[str]
) -> None:
    with server.admin() as admin:
        response = admin.put(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc
    no_value_in(response.text)


def test_test_connection_takes_a_stored_credential(server: Server, upstream: Upstream) -> None:
    upstream.expected = SECOND
    with server.admin() as admin:
        assert admin.put("/credentials/probe", json={"value": SECOND}).status_code == 201
        body = {"base_url": upstream.url, "upstream_model": "m", "credential": "probe"}
        tried = admin.post("/models/test-connection", json=body)
        unknown = admin.post("/models/test-connection", json={**body, "credential": "missing"})
    assert tried.status_code == 200 and tried.json()["ok"] is True, tried.text
    assert upstream.seen[-1] == f"Bearer {SECOND}"
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "credential"]
    no_value_in(tried.text, unknown.text)


def test_the_log_holds_no_value_so_far(server: Server) -> None:
    log = output(server.process)
    assert "PUT /api/v1/credentials/" in log  # the access log is on: the search is meaningful
    no_value_in(log)
