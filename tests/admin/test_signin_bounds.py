"""What unauthenticated callers can make browser sign-in write is bounded.

Against a real `headwater serve` with sign-in configured (the real OIDC provider): failed callbacks
are audited at most 10 a minute per source IP and 100 in all, the rest counted on /metrics; each
source IP may start 60 sign-ins and make 60 callbacks a minute (429 past that), so login states stay
bounded. Several source IPs are real: the clients bind to 127.0.0.x addresses. The cap on sign-ins
under way (10,000 by default) is checked on the admin app itself with a cap of 20.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.admin.app import create_admin_app
from headwater.admin.auth import IdentityConfig
from headwater.admin.signin import SignIn
from headwater.admin.signin_limits import SignInLimits, SourceRate
from headwater.clock import utcnow
from headwater.control import ControlPlane
from headwater.identity.jwt_verifier import JwtVerifier
from headwater.keys.selfservice import KeyRules
from headwater.snapshot import Snapshot
from headwater.storage.sql import migrate
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.tables import login_states
from tests.oidc_provider import OidcProvider, oidc_env
from tests.support import Server, database, start_server, stop

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(database_url: str, oidc: OidcProvider) -> Iterator[Server]:
    started = start_server(database_url, extra_env=oidc_env(oidc))
    yield started
    stop(started.process)


def client_from(address: str, server: Server) -> httpx.Client:
    """A client whose connections come from ``address`` (any of 127.0.0.0/8 is this machine)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=10)


def failed_sign_ins(server: Server) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    cursor = None
    with server.admin() as admin:
        while True:
            params: dict[str, str | int] = {"action": "user.sign_in", "outcome": "failure", "limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = admin.get("/audit/events", params=params)
            found += page.json()["items"]
            cursor = page.json()["next"]
            if not cursor:
                return found


def metric(server: Server, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", httpx.get(f"{server.url}/metrics").text, re.MULTILINE)
    assert match, name
    return float(match.group(1))


def count_login_states(database_url: str) -> int:
    async def count() -> int:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(select(func.count()).select_from(login_states))).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_a_thousand_bogus_callbacks_write_at_most_the_audit_bound(server: Server) -> None:
    statuses: Counter[int] = Counter()
    for source in range(20):  # 50 callbacks from each of 20 addresses: under the callback rate
        with client_from(f"127.0.0.{10 + source}", server) as client:
            for n in range(50):
                statuses[
                    client.get("/auth/callback", params={"state": f"bogus-{n}", "code": "x"}).status_code
                ] += 1
    assert statuses == {400: 1000}
    audited = failed_sign_ins(server)
    assert 10 <= len(audited) <= 100  # 100 a minute in all (20 sources x 10 would be 200)
    assert max(Counter(event["source_ip"] for event in audited).values()) <= 10
    assert metric(server, "headwater_signin_failures_unaudited_total") == 1000 - len(audited)


def test_callbacks_past_the_rate_of_a_source_are_429(server: Server) -> None:
    with client_from("127.0.0.40", server) as client:
        answers = [client.get("/auth/callback", params={"state": "s", "code": "c"}) for _ in range(80)]
    assert Counter(a.status_code for a in answers) == {400: 60, 429: 20}
    refused = answers[-1]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Too many" in refused.json()["detail"]


def test_many_logins_from_one_address_leave_the_login_states_bounded(server: Server) -> None:
    statuses: Counter[int] = Counter()
    with client_from("127.0.0.50", server) as client:
        for _ in range(500):
            statuses[client.get("/auth/login").status_code] += 1
    assert statuses == {302: 60, 429: 440}
    assert count_login_states(server.database_url) <= 60


# ---- the cap on sign-ins under way, on the app with a small cap ---------------------------------
@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    with database("sqlite", tmp_path) as url:
        engine = create_engine(url)
        await migrate.upgrade(engine)
        yield engine
        await engine.dispose()


async def test_sign_ins_under_way_are_capped_after_the_expired_ones_are_deleted(
    engine: AsyncEngine, oidc: OidcProvider
) -> None:
    async def unchanged() -> None:
        return None

    cp = ControlPlane(engine=engine, changed=unchanged)
    identity = IdentityConfig()
    limits = SignInLimits(logins=SourceRate(10**6), max_pending_logins=20)
    signin = SignIn(
        cp=cp, identity=identity, issuer=oidc.issuer, client_id=oidc.client_id,
        client_secret=oidc.client_secret, scopes="openid", public_url="", session_ttl_s=3600,
        id_tokens=JwtVerifier(oidc.issuer, oidc.client_id), limits=limits,
    )  # fmt: skip
    app = create_admin_app(cp, identity, signin, KeyRules(), lambda: Snapshot(revision=0))
    old = utcnow() - timedelta(hours=1)
    async with engine.begin() as conn:  # 50 abandoned sign-ins, long expired
        rows = [
            {"state": f"old-{n}", "code_verifier": "v", "nonce": "n", "return_to": "/", "created_at": old}
            for n in range(50)
        ]
        await conn.execute(login_states.insert(), rows)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.60", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://headwater") as client:
        answers = [await client.get("/auth/login") for _ in range(25)]
    assert [a.status_code for a in answers] == [302] * 20 + [503] * 5
    assert answers[-1].headers["retry-after"] == "60"
    assert "under way" in answers[-1].json()["detail"]
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(login_states))).scalar_one() == 20
