"""What a caller is shown of the catalog.

`GET /v1/models` lists exactly the models a key may call: enabled, in the key's own scope, and open
or granted to its owner by a policy (a restricted model nobody granted is not listed, nor fetchable
by name). `GET /api/v1/models` shows deployments (upstream URLs, credential variable names) to admins
and auditors only.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.support import Server, Sim, apply, create_key, doc, model_doc, start_server, stop

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(database_url: str, sim: Sim) -> Iterator[Server]:
    env = {"HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User", "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32"}
    started = start_server(database_url, extra_env=env)
    credential = {"credential_env": "HEADWATER_UPSTREAM_VISIBILITY"}
    apply(
        started,
        doc("Group", "insiders"),
        doc("User", "ines", groups=["insiders"]),
        doc("User", "otto"),
        model_doc("open-a", sim.url, deployment=credential),
        model_doc("granted-r", sim.url, access="restricted"),
        model_doc("nobodys-s", sim.url, access="restricted"),
        model_doc("disabled-d", sim.url, status="disabled"),
        doc("Policy", "insiders", assets={"models": ["granted-r"]}, targets={"groups": ["insiders"]}),
    )
    yield started
    stop(started.process)


def listed(server: Server, key: str) -> list[str]:
    with openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as client:
        return sorted(model.id for model in client.models.list())


def test_v1_models_lists_what_each_key_may_call(server: Server) -> None:
    insider = create_key(server, owner="user:ines")["key"]
    outsider = create_key(server, owner="user:otto")["key"]
    scoped = create_key(server, owner="user:ines", models=["granted-r"])["key"]
    group_key = create_key(server, owner="group:insiders")["key"]
    assert listed(server, insider) == ["granted-r", "open-a"]
    assert listed(server, outsider) == ["open-a"]
    assert listed(server, scoped) == ["granted-r"]
    assert listed(server, group_key) == ["granted-r", "open-a"]


def test_a_model_the_key_may_not_call_is_not_found_by_name(server: Server) -> None:
    outsider = create_key(server, owner="user:otto")["key"]
    for name in ("granted-r", "nobodys-s", "disabled-d", "unknown"):
        response = httpx.get(f"{server.v1}/models/{name}", headers={"Authorization": f"Bearer {outsider}"})
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "model_not_found"
    found = httpx.get(f"{server.v1}/models/open-a", headers={"Authorization": f"Bearer {outsider}"})
    assert found.status_code == 200 and found.json()["id"] == "open-a"


def test_deployments_are_shown_to_admins_only(server: Server) -> None:
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"X-Forwarded-User": "otto"}) as otto:
        listing = otto.get("/models")
        one = otto.get("/models/open-a")
    assert listing.status_code == 200 and one.status_code == 200
    assert {model["name"] for model in listing.json()["items"]} >= {"open-a", "granted-r"}
    assert all(model["deployments"] == [] for model in listing.json()["items"])
    assert one.json()["deployments"] == []
    for text in (listing.text, one.text):
        assert "127.0.0.1" not in text and "HEADWATER_UPSTREAM_VISIBILITY" not in text
    with server.admin() as admin:
        full = admin.get("/models/open-a").json()
    assert full["deployments"][0]["credential_env"] == "HEADWATER_UPSTREAM_VISIBILITY"
    assert full["deployments"][0]["base_url"].startswith("http://127.0.0.1:")
