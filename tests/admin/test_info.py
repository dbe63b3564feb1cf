"""GET /api/v1/info: public, costs no database work, tells the console what it needs first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from headwater import __version__
from headwater.main import Headwater
from headwater.settings import Settings
from tests.support import Server, database, start_server, stop

DASHBOARD = "https://grafana.example.com/d/headwater/usage?var-key={key_id}"
#: A database nobody listens on: whatever needs it fails.
NO_DATABASE = "postgresql+asyncpg://nobody@127.0.0.1:1/none"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with database("sqlite", tmp_path_factory.mktemp("info")) as url:
        started = start_server(url)
        yield started
        stop(started.process)


@pytest.mark.e2e
def test_anyone_may_ask_without_signing_in(server: Server) -> None:
    response = httpx.get(f"{server.url}/api/v1/info")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "version": __version__,
        "gateway_url": server.url,
        "sign_in": {"oidc": False, "token": True},
        "dashboard_url": None,
    }
    forged = httpx.get(f"{server.url}/api/v1/info", headers={"Host": "evil.example"})
    assert forged.json()["gateway_url"] == "http://evil.example"  # told back to the forger only:
    assert forged.headers["cache-control"] == "no-store"  # no shared cache keeps it for others
    wrong = httpx.get(f"{server.url}/api/v1/info", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 200  # credentials are not even looked at
    assert httpx.post(f"{server.url}/api/v1/info").status_code == 405


@pytest.mark.e2e
def test_it_is_public_in_the_openapi_document(server: Server) -> None:
    spec = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/info"]["get"]
    assert "security" not in operation
    assert "security" in spec["paths"]["/api/v1/me"]["get"]


async def ask(app: Headwater, base_url: str = "http://headwater.internal:8080") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        return await client.get("/api/v1/info")


async def test_it_needs_no_database(tmp_path: Path) -> None:
    """Never started and its database unreachable, the app still answers: nothing to flood."""
    app = Headwater(Settings(data_dir=tmp_path, database_url=NO_DATABASE, admin_token="t"))
    answers = [await ask(app) for _ in range(50)]
    assert {answer.status_code for answer in answers} == {200}
    assert answers[0].json()["gateway_url"] == "http://headwater.internal:8080"
    assert (await ask(app, "https://hw.example.com/")).json()["gateway_url"] == "https://hw.example.com"


async def test_the_public_url_sign_in_and_dashboard_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=NO_DATABASE,
        admin_token="t",
        public_url="https://ai.example.com/",
        dashboard_url=DASHBOARD,
        oidc_issuer="https://idp.example.com/realms/hw",
        oidc_client_id="headwater",
        oidc_client_secret="client-secret",
    )
    found = (await ask(Headwater(settings))).json()
    assert found["gateway_url"] == "https://ai.example.com"
    assert found["sign_in"] == {"oidc": True, "token": True}
    assert found["dashboard_url"] == DASHBOARD
    assert "client-secret" not in str(found)
    bearer_only = Settings(
        data_dir=tmp_path,
        database_url=NO_DATABASE,
        admin_token="t",
        oidc_issuer="https://idp.example.com",
        oidc_audience="hw",
    )
    assert (await ask(Headwater(bearer_only))).json()["sign_in"] == {"oidc": False, "token": True}


@pytest.mark.parametrize(
    "value",
    [
        DASHBOARD,
        "http://grafana:3000/d/abc",
        "https://grafana.example.com/explore?left={key_id}&right={key_id}",
    ],
)
def test_dashboard_urls_that_are_accepted(value: str) -> None:
    assert Settings(dashboard_url=value).dashboard_url == value


@pytest.mark.parametrize(
    "value",
    [
        "grafana.example.com/d/abc",
        "ftp://grafana.example.com/d",
        "javascript:alert(1)",
        "https:///d/abc",
        "https://grafana.example.com:99999/d",
        "https://grafana.example.com/d?user={user}",
        "https://grafana.example.com/d abc",
        'https://grafana.example.com/d"onload="x',
    ],
)
def test_dashboard_urls_that_stop_the_start(value: str) -> None:
    with pytest.raises(ValidationError, match="HEADWATER_DASHBOARD_URL"):
        Settings(dashboard_url=value)
