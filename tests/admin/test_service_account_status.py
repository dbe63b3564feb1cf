"""A group admin cannot undo what an admin decided about a service account of their group.

Group admins manage their groups' service accounts (create, describe, disable, enable, delete), but
a service account an admin disabled stays disabled until an admin enables it: its keys stay
refused. The same rule as for keys (owners only tighten what an admin set).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support import Server, Sim, apply, create_key, doc, model_doc, start_server, stop

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(database_url: str, sim: Sim) -> Iterator[Server]:
    env = {"HEADWATER_TRUSTED_HEADERS": "X-Forwarded-User", "HEADWATER_TRUSTED_PROXIES": "127.0.0.1/32"}
    started = start_server(database_url, extra_env=env)
    apply(
        started,
        doc("User", "gina"),
        doc("Group", "crew", admins=["gina"]),
        model_doc("sa-chat", sim.url),
    )
    yield started
    stop(started.process)


def gina(server: Server) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v1", headers={"X-Forwarded-User": "gina"}, timeout=10)


def chat(server: Server, key: str) -> httpx.Response:
    return httpx.post(
        f"{server.v1}/chat/completions",
        json={"model": "sa-chat", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


def test_an_admin_disabled_service_account_stays_disabled_for_its_group_admin(server: Server) -> None:
    with gina(server) as group_admin:
        made = group_admin.post("/service-accounts", json={"name": "crew-bot", "group": "crew"})
        assert made.status_code == 201, made.text
    key = create_key(server, owner="serviceaccount:crew-bot")["key"]
    assert chat(server, key).status_code == 200
    with server.admin() as admin:
        disabled = admin.put("/service-accounts/crew-bot", json={"group": "crew", "status": "disabled"})
        assert disabled.status_code == 200, disabled.text
    with gina(server) as group_admin:
        refused = group_admin.put("/service-accounts/crew-bot", json={"group": "crew", "status": "active"})
        assert refused.status_code == 403, refused.text
        assert "only an admin" in refused.json()["detail"]
        described = group_admin.put(
            "/service-accounts/crew-bot", json={"group": "crew", "status": "disabled", "description": "x"}
        )
        assert described.status_code == 200, described.text
        assert group_admin.get("/service-accounts/crew-bot").json()["status"] == "disabled"
    denied = chat(server, key)
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "service_account_disabled"
    with server.admin() as admin:
        events = admin.get("/audit/events", params={"target": "crew-bot", "outcome": "denied"}).json()
    assert [event["actor"] for event in events["items"]] == ["user:gina"]


def test_a_group_admin_enables_what_they_disabled_themselves(server: Server) -> None:
    with gina(server) as group_admin:
        assert group_admin.post("/service-accounts", json={"name": "crew-etl", "group": "crew"}).is_success
        off = group_admin.put("/service-accounts/crew-etl", json={"group": "crew", "status": "disabled"})
        assert off.status_code == 200, off.text
        on = group_admin.put("/service-accounts/crew-etl", json={"group": "crew", "status": "active"})
        assert on.status_code == 200, on.text
    with server.admin() as admin:  # and once an admin enabled it again, it is the group admin's again
        admin.put("/service-accounts/crew-etl", json={"group": "crew", "status": "disabled"})
        admin.put("/service-accounts/crew-etl", json={"group": "crew", "status": "active"})
    with gina(server) as group_admin:
        off = group_admin.put("/service-accounts/crew-etl", json={"group": "crew", "status": "disabled"})
        on = group_admin.put("/service-accounts/crew-etl", json={"group": "crew", "status": "active"})
    assert off.status_code == 200 and on.status_code == 200, on.text
