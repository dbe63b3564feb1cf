"""Trusted-header identity on the gateway: a gateway in front authenticates users and says who they are.

The headers count only from HEADWATER_TRUSTED_PROXIES and only when the call has no Authorization
header; from any other source they are ignored, as if absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import (
    Server,
    Sim,
    apply,
    create_key,
    doc,
    model_doc,
    start_server,
    stop,
    usage_events,
    wait_for,
)

pytestmark = pytest.mark.e2e

MESSAGES = [{"role": "user", "content": "Where does the Danube begin?"}]
HEADERS_ENV = {"HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User,X-Forwarded-Groups"}


def world(server: Server, sim: Sim) -> None:
    apply(
        server,
        doc("Group", "engineering"),
        doc("User", "frank"),
        model_doc("open-chat", sim.url),
        model_doc("eng-only", sim.url, access="restricted"),
        doc(
            "Policy",
            "engineering-models",
            assets={"models": ["eng-only"]},
            targets={"groups": ["engineering"]},
        ),
    )


@pytest.fixture(scope="module")
def trusting(database_url: str, sim: Sim) -> Iterator[Server]:
    env = {**HEADERS_ENV, "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32"}
    server = start_server(database_url, extra_env=env)
    world(server, sim)
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def distrusting(tmp_path_factory: pytest.TempPathFactory, sim: Sim) -> Iterator[Server]:
    """Trusts a proxy network the tests do not call from (SQLite: the database plays no part)."""
    database = tmp_path_factory.mktemp("untrusted") / "hw.db"
    env = {**HEADERS_ENV, "HEADWATER_TRUSTED_PROXIES": "10.0.0.0/8,::1/128"}
    server = start_server(f"sqlite+aiosqlite:///{database}", extra_env=env)
    world(server, sim)
    yield server
    stop(server.process)


def chat(server: Server, model: str = "open-chat", **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server.v1}/chat/completions",
        json={"model": model, "messages": MESSAGES},
        headers={name.replace("_", "-"): value for name, value in headers.items()},
        timeout=10,
    )


def code(response: httpx.Response) -> str:
    value: str = response.json()["error"]["code"]
    return value


def test_the_forwarded_user_is_the_caller(trusting: Server) -> None:
    response = chat(trusting, X_Forwarded_User="erin", X_Forwarded_Groups="research")
    assert response.status_code == 200, response.text
    request_id = response.headers["x-request-id"]

    def event() -> dict[str, Any] | None:
        return next((e for e in usage_events(trusting) if e["request_id"] == request_id), None)

    found = wait_for(event, timeout=5)
    assert found["principal"] == "user:erin" and found["key_id"] == "header"
    models = httpx.get(f"{trusting.v1}/models", headers={"X-Forwarded-User": "erin"}, timeout=10)
    assert models.status_code == 200 and "open-chat" in {m["id"] for m in models.json()["data"]}


def test_policies_apply_by_the_forwarded_groups(trusting: Server) -> None:
    allowed = chat(trusting, "eng-only", X_Forwarded_User="erin", X_Forwarded_Groups="research, engineering")
    assert allowed.status_code == 200, allowed.text
    refused = chat(trusting, "eng-only", X_Forwarded_User="erin", X_Forwarded_Groups="research")
    assert refused.status_code == 403 and code(refused) == "model_not_allowed"


def test_an_authorization_header_wins_over_forwarded_headers(trusting: Server) -> None:
    response = chat(trusting, Authorization="Bearer not-a-key", X_Forwarded_User="erin")
    assert response.status_code == 401 and code(response) == "invalid_api_key"
    key = create_key(trusting, name="beside-headers")["key"]
    assert chat(trusting, Authorization=f"Bearer {key}", X_Forwarded_User="erin").status_code == 200


def test_without_the_user_header_the_call_is_unauthenticated(trusting: Server) -> None:
    response = chat(trusting, X_Forwarded_Groups="engineering")
    assert response.status_code == 401 and code(response) == "missing_api_key"


def test_a_disabled_forwarded_user_is_refused(trusting: Server) -> None:
    assert chat(trusting, X_Forwarded_User="frank").status_code == 200
    with trusting.admin() as admin:
        admin.put("/users/frank", json={"status": "disabled"}).raise_for_status()
    response = chat(trusting, X_Forwarded_User="frank")
    assert response.status_code == 401 and code(response) == "user_disabled"
    assert response.json()["error"]["type"] == "authentication_error"


def test_headers_from_an_untrusted_source_are_ignored(distrusting: Server) -> None:
    response = chat(distrusting, X_Forwarded_User="erin", X_Forwarded_Groups="engineering")
    assert response.status_code == 401 and code(response) == "missing_api_key"
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    models = httpx.get(f"{distrusting.v1}/models", headers={"X-Forwarded-User": "erin"}, timeout=10)
    assert models.status_code == 401
