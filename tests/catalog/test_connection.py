"""POST /api/v1/models/test-connection against a real `headwater sim` and misbehaving servers.

Whatever the server does, the answer is 200 with ``ok`` and ``error``; the credential variable is
checked like a deployment's, sent as a bearer token, and never shows in an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.catalog.models_server import ECHOED, ModelsServer, models_server
from tests.support import Server, Sim, database, free_port, start_server, stop

pytestmark = pytest.mark.e2e

CREDENTIAL_ENV = "HEADWATER_UPSTREAM_TEST_CONNECTION_KEY"


@pytest.fixture(scope="module")
def upstream() -> Iterator[ModelsServer]:
    with models_server() as server:
        yield server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with database("sqlite", tmp_path_factory.mktemp("connection")) as url:
        server = start_server(url, extra_env={CREDENTIAL_ENV: ECHOED})
        yield server
        stop(server.process)


def check(server: Server, **body: Any) -> httpx.Response:
    with server.admin() as admin:
        return admin.post("/models/test-connection", json=body, timeout=30)


def result(server: Server, **body: Any) -> dict[str, Any]:
    response = check(server, **body)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    assert set(found) == {"ok", "status", "latency_ms", "upstream_model_listed", "models", "error"}
    assert found["latency_ms"] >= 0
    return found


def test_the_simulator_answers_its_model_list(served: Server, sim: Sim) -> None:
    found = result(served, provider="openai", base_url=sim.url, upstream_model="sim-chat")
    assert found["ok"] is True and found["status"] == 200 and found["error"] is None
    assert found["upstream_model_listed"] is True
    assert {"sim-chat", "sim-embed"} <= set(found["models"])
    other = result(served, base_url=sim.url + "/", upstream_model="llama-not-served")
    assert other["ok"] is True and other["upstream_model_listed"] is False


def test_an_unreachable_server_is_an_answer_not_a_5xx(served: Server) -> None:
    found = result(served, base_url=f"http://127.0.0.1:{free_port()}/v1", upstream_model="m")
    assert found["ok"] is False and found["status"] is None
    assert found["error"] == "unreachable (connection refused)"
    assert found["models"] == [] and found["upstream_model_listed"] is None
    nowhere = result(served, base_url="http://no-such-host.invalid/v1", upstream_model="m")
    assert nowhere["ok"] is False and "unreachable" in nowhere["error"]
    assert "no-such-host" not in nowhere["error"]


def test_an_answer_that_is_not_json_or_not_a_list(served: Server, upstream: ModelsServer) -> None:
    html = result(served, base_url=upstream.base_url("html"), upstream_model="m")
    assert html["ok"] is False and html["status"] == 200
    assert html["error"].startswith("the answer is not JSON")
    other = result(served, base_url=upstream.base_url("notalist"), upstream_model="m")
    assert other["ok"] is False and "not a model list" in other["error"]


def test_at_most_100_models_are_listed_but_all_are_searched(served: Server, upstream: ModelsServer) -> None:
    found = result(served, base_url=upstream.base_url("list"), upstream_model="m149")
    assert found["ok"] is True
    assert found["models"] == [f"m{n}" for n in range(100)]
    assert found["upstream_model_listed"] is True


def test_statuses_redirects_size_and_time(served: Server, upstream: ModelsServer) -> None:
    failing = result(served, base_url=upstream.base_url("failing"), upstream_model="m")
    assert (failing["ok"], failing["status"], failing["error"]) == (False, 503, "HTTP 503")
    moved = result(served, base_url=upstream.base_url("redirect"), upstream_model="m")
    assert (moved["status"], moved["error"]) == (302, "HTTP 302: a redirect (not followed)")
    assert upstream.requests_for("redirect") and not upstream.requests_for("redirected")
    huge = result(served, base_url=upstream.base_url("huge"), upstream_model="m")
    assert huge["ok"] is False and huge["error"] == "the answer is larger than 1048576 bytes"
    hang = result(served, base_url=upstream.base_url("hang"), upstream_model="m")
    assert hang["ok"] is False and hang["error"] == "no complete answer within 5 s"
    assert 4900 <= hang["latency_ms"] < 10_000


def test_the_credential_is_sent_and_never_shown(served: Server, upstream: ModelsServer) -> None:
    found = result(
        served, base_url=upstream.base_url("echo"), upstream_model="m", credential_env=CREDENTIAL_ENV
    )
    assert upstream.requests_for("echo")[-1].headers["authorization"] == f"Bearer {ECHOED}"
    assert found["ok"] is False and found["status"] == 401
    assert found["error"] == "HTTP 401: Incorrect API key provided: Bearer [redacted]"
    assert (
        ECHOED
        not in check(
            served, base_url=upstream.base_url("echo"), upstream_model="m", credential_env=CREDENTIAL_ENV
        ).text
    )
    without = result(served, base_url=upstream.base_url("list"), upstream_model="m1")
    assert "authorization" not in upstream.requests_for("list")[-1].headers and without["ok"]


def test_credential_variables_are_checked_like_a_deployments(served: Server, sim: Sim) -> None:
    for name in ("HEADWATER_ADMIN_TOKEN", "HEADWATER_DATABASE_URL", "HOME"):
        refused = check(served, base_url=sim.url, upstream_model="m", credential_env=name)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"] == ["body", "credential_env"]
    unset = result(served, base_url=sim.url, upstream_model="m", credential_env="HEADWATER_UPSTREAM_UNSET")
    assert unset["ok"] is False and unset["status"] is None
    assert unset["error"] == "HEADWATER_UPSTREAM_UNSET is not set in Headwater's environment"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"base_url": "http://x/v1?debug=1", "upstream_model": "m"}, "base_url"),
        ({"base_url": "ftp://x/v1", "upstream_model": "m"}, "base_url"),
        ({"base_url": "http://x/v1", "upstream_model": ""}, "upstream_model"),
        ({"base_url": "http://x/v1", "upstream_model": "m", "provider": "cohere"}, "provider"),
        ({"base_url": "http://x/v1", "upstream_model": "m", "credential_env": "1BAD"}, "credential_env"),
        ({"base_url": "http://x/v1", "upstream_model": "m", "weight": 2}, "weight"),
    ],
)
def test_the_body_is_validated_like_a_deployment(served: Server, body: dict[str, Any], field: str) -> None:
    refused = check(served, **body)
    assert refused.status_code == 422, refused.text
    assert field in {loc for error in refused.json()["detail"] for loc in error["loc"]}
