"""OIDC access tokens on the admin API, with only the issuer and audience configured (no sign-in)."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.oidc_provider import TEST_USERS, OidcProvider, oidc_env, start_oidc_provider
from tests.support import Server, output, start_server, stop

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(database_url: str, oidc: OidcProvider) -> Iterator[Server]:
    env = oidc_env(oidc, sign_in=False)
    assert "HEADWATER_OIDC_CLIENT_ID" not in env and "HEADWATER_OIDC_CLIENT_SECRET" not in env
    started = start_server(database_url, extra_env=env)
    yield started
    stop(started.process)


def me(server: Server, token: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def test_an_access_token_is_the_user_and_provisions_them(server: Server, oidc: OidcProvider) -> None:
    with server.admin() as admin:
        assert admin.get("/users/bob").status_code == 404
        response = me(server, oidc.access_token("bob", "bob-pw"))
        assert response.status_code == 200, response.text
        assert response.json() == {
            "actor": "user:bob",
            "name": "bob",
            "role": "user",
            "via": "oidc",
            "groups": ["research"],
            "admin_of": [],
            "viewing_as_by": None,
        }
        user = admin.get("/users/bob").json()
    assert user["groups"] == ["research"] and user["email"] == "bob@example.com"


def test_roles_come_from_the_token_groups(server: Server, oidc: OidcProvider) -> None:
    carol = oidc.access_token("carol", "carol-pw")
    assert me(server, carol).json()["role"] == "admin"
    headers = {"Authorization": f"Bearer {carol}"}  # bearer calls need no CSRF token
    created = httpx.post(f"{server.url}/api/v1/groups", json={"name": "bearer-made"}, headers=headers)
    assert created.status_code == 201, created.text

    dave = oidc.access_token("dave", "dave-pw")
    assert me(server, dave).json()["role"] == "auditor"
    headers = {"Authorization": f"Bearer {dave}"}
    assert httpx.get(f"{server.url}/api/v1/keys", headers=headers).status_code == 200
    denied = httpx.post(f"{server.url}/api/v1/groups", json={"name": "nope"}, headers=headers)
    assert denied.status_code == 403


def test_bad_tokens_are_refused_without_echo(server: Server, oidc: OidcProvider) -> None:
    tokens = oidc.tokens("alice", "alice-pw")
    good: str = tokens["access_token"]
    header, payload, signature = good.split(".")
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    claims = json.loads(unb64(payload))
    escalated = b64(json.dumps({**claims, "groups": ["hw-admins"]}).encode())
    none_header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    with start_oidc_provider(TEST_USERS) as other:  # another issuer, same audience
        foreign = other.access_token("alice", "alice-pw")
    bad = {
        "garbage": "not-a-token-at-all",
        "tampered signature": f"{header}.{payload}.{flipped}",
        "tampered claims": f"{header}.{escalated}.{signature}",
        "alg none": f"{none_header}.{escalated}.",
        "wrong audience (an ID token)": tokens["id_token"],
        "another issuer": foreign,
    }
    for label, token in bad.items():
        response = me(server, token)
        assert response.status_code == 401, (label, response.text)
        assert response.headers["www-authenticate"] == "Bearer", label
        detail = response.json()["detail"]
        assert isinstance(detail, str) and detail, label
        assert token not in response.text and signature not in response.text, label
    assert "audience" in me(server, tokens["id_token"]).json()["detail"]
    assert me(server, good).status_code == 200  # the untampered token still works
    log = output(server.process)
    for token in (good, *bad.values()):
        assert token not in log
    assert signature not in log


def test_sign_in_is_not_configured_without_a_client(server: Server) -> None:
    for path in ("/auth/login", "/auth/callback?state=x&code=y"):
        response = httpx.get(f"{server.url}{path}")
        assert response.status_code == 404
        detail = response.json()["detail"]
        assert "not configured" in detail and "HEADWATER_OIDC_CLIENT_ID" in detail


def test_concurrent_first_calls_provision_the_user_once(server: Server, oidc: OidcProvider) -> None:
    name = f"frank{secrets.token_hex(3)}"
    oidc.set_user(name, password="frank-pw", groups=[f"new-{name}", "research"])
    tokens = [oidc.access_token(name, "frank-pw") for _ in range(3)]

    async def call_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            calls = [
                client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"})
                for i in range(12)
            ]
            return await asyncio.gather(*calls)

    responses = asyncio.run(call_all())
    assert [r.status_code for r in responses] == [200] * len(responses), output(server.process)[-3000:]
    assert {r.json()["name"] for r in responses} == {name}
    with server.admin() as admin:
        assert admin.get(f"/users/{name}").json()["groups"] == sorted([f"new-{name}", "research"])
