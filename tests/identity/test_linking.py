"""OIDC identities are linked by the issuer's subject, never by a name a token asserts.

An admin declares users in git before the people ever sign in. The first token that says
``preferred_username: alice`` must not become that ``alice`` (her groups, her restricted models, her
keys' usage): it gets a name of its own (``alice-`` and eight hex digits of its subject's SHA-256).
A declared user is linked to a new subject only by email, only when the token says
``email_verified`` and ``HEADWATER_OIDC_LINK_VERIFIED_EMAIL`` is on. Checked on the admin API (bearer
tokens, browser sign-in) and on the gateway, whose first sight of a token must give the same name.
Subjects are ``sub-<username>`` (tests/oidc_provider.py), so the suffixes below are literal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.oidc_provider import TEST_USERS, OidcProvider, oidc_env, start_oidc_provider
from tests.support import (
    Server,
    Sim,
    apply,
    database,
    doc,
    model_doc,
    start_server,
    stop,
    usage_events,
    wait_for,
)

pytestmark = pytest.mark.e2e

PASSWORD = "pw-linking"
MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    started = start_oidc_provider(TEST_USERS)
    for name in ("alice", "bob", "erin", "frank"):
        started.set_user(name, password=PASSWORD, email=f"{name}@example.com", groups=[])
    started.set_user("erin", email_verified=False)
    yield started
    started.stop()


def declared(server: Server, sim: Sim) -> None:
    """Users an admin declared in git, one of them in a group that unlocks a restricted model."""
    apply(
        server,
        doc("Group", "vip"),
        doc("User", "alice", groups=["vip"]),  # no email: nothing to link by
        doc("User", "bob", email="BOB@example.com", groups=["vip"]),
        doc("User", "erin", email="erin@example.com", groups=["vip"]),
        doc("User", "frank", email="frank@example.com", groups=["vip"]),
        model_doc("open-chat", sim.url),
        model_doc("vip-model", sim.url, access="restricted"),
        doc("Policy", "vip-models", assets={"models": ["vip-model"]}, targets={"groups": ["vip"]}),
    )


@pytest.fixture(scope="module")
def linking(database_url: str, provider: OidcProvider, sim: Sim) -> Iterator[Server]:
    """Linking by a verified email allowed."""
    env = {**oidc_env(provider, sign_in=False), "HEADWATER_OIDC_LINK_VERIFIED_EMAIL": "true"}
    server = start_server(database_url, extra_env=env)
    declared(server, sim)
    yield server
    stop(server.process)


def me(server: Server, token: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def chat(server: Server, token: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{server.v1}/chat/completions",
        json={"model": model, "messages": MESSAGES},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_a_token_naming_a_declared_user_does_not_become_that_user(
    linking: Server, provider: OidcProvider
) -> None:
    token = provider.access_token("alice", PASSWORD)
    who = me(linking, token)
    assert who["name"] == "alice-c0435581"
    assert "vip" not in who["groups"]
    refused = chat(linking, token, "vip-model")
    assert refused.status_code == 403, refused.text
    with linking.admin() as admin:
        alice = admin.get("/users/alice").json()
    assert alice["groups"] == ["vip"]  # the declared user is untouched


def test_the_gateway_gives_a_first_seen_token_the_same_name(linking: Server, provider: OidcProvider) -> None:
    """frank's email is verified but his name, not his email, is what the gateway sees first: linked
    by email like at sign-in, and never by name."""
    token = provider.access_token("frank", PASSWORD)
    answered = chat(linking, token, "vip-model")  # the declared frank is in vip: linked by email
    assert answered.status_code == 200, answered.text
    request_id = answered.headers["x-request-id"]
    event = wait_for(lambda: next((e for e in usage_events(linking) if e["request_id"] == request_id), None))
    assert event["principal"] == "user:frank"
    assert me(linking, token)["name"] == "frank"


def test_a_verified_email_links_a_declared_user_when_allowed(linking: Server, provider: OidcProvider) -> None:
    token = provider.access_token("bob", PASSWORD)
    who = me(linking, token)
    assert who["name"] == "bob"
    assert "vip" in who["groups"]
    assert chat(linking, token, "vip-model").status_code == 200


def test_an_unverified_email_links_nobody(linking: Server, provider: OidcProvider) -> None:
    token = provider.access_token("erin", PASSWORD)
    answered = chat(linking, token, "open-chat")
    assert answered.status_code == 200, answered.text
    request_id = answered.headers["x-request-id"]
    event = wait_for(lambda: next((e for e in usage_events(linking) if e["request_id"] == request_id), None))
    assert event["principal"] == "user:erin-45c9478b"
    assert me(linking, token)["name"] == "erin-45c9478b"
    assert chat(linking, token, "vip-model").status_code == 403


def test_without_the_setting_a_verified_email_links_nobody(
    database_url: str, provider: OidcProvider, sim: Sim, tmp_path: Path
) -> None:
    kind = "postgres" if database_url.startswith("postgresql") else "sqlite"
    with database(kind, tmp_path) as url:
        server = start_server(url, extra_env=oidc_env(provider, sign_in=False))
        try:
            declared(server, sim)
            token = provider.access_token("bob", PASSWORD)
            assert me(server, token)["name"] == "bob-61602d69"
            assert chat(server, token, "vip-model").status_code == 403
        finally:
            stop(server.process)
