"""Upstream credentials: a deployment may name only variables meant for upstreams.

The attack: an admin registers a model whose deployment names `HEADWATER_ADMIN_TOKEN` (or the OIDC
client secret, or the database URL) as its `credential_env` and points `base_url` at a server of
their own; the first call sends the variable as a bearer token. A capture server stands in for that
server and records every Authorization header it receives.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, update

from headwater.clock import utcnow
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.tables import deployments, models, state
from tests.support import Server, apply, create_key, model_doc, start_server, stop

pytestmark = pytest.mark.e2e

UPSTREAM_SECRET = "upstream-secret-4f1c"
COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


class Capture:
    """An OpenAI-compatible upstream that remembers the Authorization header of every call."""

    def __init__(self) -> None:
        seen: list[str] = []
        self.seen = seen

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                seen.append(self.headers.get("Authorization", ""))
                body = json.dumps(COMPLETION).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def capture() -> Iterator[Capture]:
    started = Capture()
    yield started
    started.close()


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    started = start_server(database_url, extra_env={"HEADWATER_UPSTREAM_TEST_KEY": UPSTREAM_SECRET})
    yield started
    stop(started.process)


def deployment(capture: Capture, credential_env: str) -> dict[str, Any]:
    return {"base_url": capture.url, "upstream_model": "m", "credential_env": credential_env}


def spec(capture: Capture, credential_env: str) -> dict[str, Any]:
    return {"kind": "chat", "deployments": [deployment(capture, credential_env)]}


@pytest.mark.parametrize(
    "name",
    [
        "HEADWATER_ADMIN_TOKEN",
        "headwater_admin_token",  # settings are read case-insensitively
        "HEADWATER_OIDC_CLIENT_SECRET",
        "HEADWATER_DATABASE_URL",
        "HOME",
        "OPENAI_API_KEY",
    ],
)
def test_a_variable_outside_the_prefix_is_refused_on_every_path(
    server: Server, capture: Capture, name: str
) -> None:
    with server.admin() as admin:
        created = admin.post("/models", json={"name": "stolen", **spec(capture, name)})
        replaced = admin.put("/models/stolen", json=spec(capture, name))
        document = model_doc("stolen", capture.url, deployment={"credential_env": name})
        applied = admin.post("/apply", json={"documents": [document], "dry_run": True})
        assert admin.get("/models/stolen").status_code == 404
    for response, loc in (
        (created, ["body", "deployments", 0, "credential_env"]),
        (replaced, ["body", "deployments", 0, "credential_env"]),
        (applied, ["documents", 0, "spec", "deployments", 0, "credential_env"]),
    ):
        assert response.status_code == 422, response.text
        detail = response.json()["detail"][0]
        assert detail["loc"] == loc
        assert "HEADWATER_UPSTREAM_" in detail["msg"] or "Headwater's own settings" in detail["msg"]
    assert server.token not in created.text + replaced.text + applied.text


def test_a_variable_with_the_prefix_is_sent_upstream(server: Server, capture: Capture) -> None:
    credential = {"credential_env": "HEADWATER_UPSTREAM_TEST_KEY"}
    apply(server, model_doc("upstream-keyed", capture.url, deployment=credential))
    key = create_key(server, models=["upstream-keyed"])["key"]
    before = len(capture.seen)
    response = httpx.post(
        f"{server.v1}/chat/completions",
        json={"model": "upstream-keyed", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert capture.seen[before:] == [f"Bearer {UPSTREAM_SECRET}"]


def test_a_deployment_stored_before_the_rule_never_sends_a_setting(server: Server, capture: Capture) -> None:
    """A row written before the rule existed (or under a broader prefix) is not read either."""

    async def insert_rows() -> None:
        engine = create_engine(server.database_url)
        try:
            async with engine.begin() as conn:
                now = utcnow()
                await conn.execute(
                    insert(models).values(
                        name="legacy",
                        kind="chat",
                        access="open",
                        description="",
                        input_per_million=0,
                        output_per_million=0,
                        currency="USD",
                        status="active",
                        created_at=now,
                        updated_at=now,
                    )
                )
                await conn.execute(
                    insert(deployments).values(
                        model_name="legacy",
                        position=0,
                        provider="openai",
                        base_url=capture.url,
                        upstream_model="m",
                        credential_env="HEADWATER_ADMIN_TOKEN",
                        weight=1,
                    )
                )
                # Written by hand, as by an older version: a revision without its changes, which
                # makes every gateway rebuild its snapshot rather than apply a delta.
                await conn.execute(update(state).values(revision=state.c.revision + 1))
        finally:
            await engine.dispose()

    asyncio.run(insert_rows())
    with server.admin() as admin:  # a change makes the gateway catch up at once (not at the next poll)
        assert admin.post("/groups", json={"name": "reload-legacy"}).status_code == 201
    key = create_key(server)["key"]
    before = len(capture.seen)
    response = httpx.post(
        f"{server.v1}/chat/completions",
        json={"model": "legacy", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert capture.seen[before:] == [""]
    assert all(server.token not in header for header in capture.seen)


def test_a_broad_prefix_still_never_reaches_headwaters_own_settings(
    database_url: str, capture: Capture
) -> None:
    broad = start_server(database_url, extra_env={"HEADWATER_CREDENTIAL_ENV_PREFIX": "HEADWATER_"})
    try:
        with broad.admin() as admin:
            refused = admin.post("/models", json={"name": "broad", **spec(capture, "HEADWATER_ADMIN_TOKEN")})
            allowed = admin.post("/models", json={"name": "broad", **spec(capture, "HEADWATER_SOMETHING")})
        assert refused.status_code == 422, refused.text
        assert "Headwater's own settings" in refused.json()["detail"][0]["msg"]
        assert allowed.status_code == 201, allowed.text
    finally:
        stop(broad.process)
