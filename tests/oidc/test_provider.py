"""Tests of the test OIDC provider itself (tests/oidc_provider.py + tests/oidc/provider.mjs)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from tests.oidc_provider import (
    OidcLoginError,
    OidcProvider,
    OidcUser,
    drive_login,
    pkce_pair,
    start_oidc_provider,
    subject_of,
)

USERS = [
    OidcUser("alice", "alice-pw", "alice@example.com", ["eng", "hw-admins"]),
    OidcUser("bob", "bob-pw", "bob@example.com", []),
]


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with start_oidc_provider(USERS) as started:
        yield started


def verify(provider: OidcProvider, token: str, audience: str) -> dict[str, Any]:
    key = jwt.PyJWKClient(provider.jwks_uri, cache_keys=False).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["RS256", "ES256"], audience=audience, issuer=provider.issuer
    )
    return claims


def jwks_kids(provider: OidcProvider) -> set[str]:
    return {key["kid"] for key in httpx.get(provider.jwks_uri).json()["keys"]}


def test_discovery(provider: OidcProvider) -> None:
    doc = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()
    assert doc["issuer"] == provider.issuer
    assert doc["authorization_endpoint"] == f"{provider.issuer}/auth"
    assert doc["token_endpoint"] == f"{provider.issuer}/token"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert {"openid", "email", "profile", "groups"} <= set(doc["scopes_supported"])
    assert {"sub", "email", "preferred_username", "groups"} <= set(doc["claims_supported"])
    assert jwks_kids(provider)


def test_code_flow_gives_id_token_and_jwt_access_token(provider: OidcProvider) -> None:
    tokens = provider.tokens("alice", "alice-pw")
    id_claims = verify(provider, tokens["id_token"], provider.client_id)
    assert id_claims["sub"] == subject_of("alice") != "alice"
    assert id_claims["email"] == "alice@example.com"
    assert id_claims["preferred_username"] == "alice"
    assert id_claims["groups"] == ["eng", "hw-admins"]

    access = tokens["access_token"]
    assert jwt.get_unverified_header(access)["typ"] == "at+jwt"
    claims = verify(provider, access, provider.audience)
    assert claims["aud"] == "headwater-api"
    assert claims["client_id"] == provider.client_id
    assert claims["sub"] == "sub-alice"
    assert claims["email"] == "alice@example.com"
    assert claims["preferred_username"] == "alice"
    assert claims["groups"] == ["eng", "hw-admins"]
    with pytest.raises(jwt.InvalidAudienceError):
        verify(provider, access, "someone-else")


def test_access_token_with_explicit_resource_and_empty_groups(provider: OidcProvider) -> None:
    token = provider.tokens("bob", "bob-pw", resource=provider.resource)["access_token"]
    claims = verify(provider, token, provider.audience)
    assert (claims["sub"], claims["groups"]) == ("sub-bob", [])


def test_wrong_password_is_refused(provider: OidcProvider) -> None:
    with pytest.raises(OidcLoginError, match="Invalid username or password"):
        provider.access_token("alice", "bob-pw")
    with pytest.raises(OidcLoginError, match="Invalid username or password"):
        provider.access_token("mallory", "anything")


def test_client_credentials(provider: OidcProvider) -> None:
    claims = verify(provider, provider.client_credentials_token(), provider.audience)
    assert claims["sub"] == provider.client_id
    assert "email" not in claims


class _RelyingParty(BaseHTTPRequestHandler):
    """A minimal relying party: /login redirects to the provider, /callback sets a cookie."""

    provider: OidcProvider
    base: str
    pending: dict[str, str]  # state -> PKCE verifier
    codes: dict[str, str]  # callback's session cookie -> code

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/login":
            verifier, challenge = pkce_pair()
            state = secrets.token_urlsafe(8)
            self.pending[state] = verifier
            location = self.provider.authorize_url(
                redirect_uri=f"{self.base}/callback", state=state, code_challenge=challenge
            )
            self.send_response(302)
            self.send_header("Location", location)
            self.end_headers()
        elif url.path == "/callback" and query.get("state") in self.pending:
            session = secrets.token_urlsafe(8)
            self.codes[session] = query["code"]
            self.send_response(303)
            self.send_header("Set-Cookie", f"rp_session={session}; Path=/; HttpOnly")
            self.send_header("Location", "/")
            self.end_headers()
        else:
            self.send_response(400)
            self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_drive_login_through_a_relying_party(provider: OidcProvider) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RelyingParty)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    _RelyingParty.provider, _RelyingParty.base = provider, base
    _RelyingParty.pending, _RelyingParty.codes = {}, {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provider.set_redirect_uris([f"{base}/callback"])
    try:
        with httpx.Client(timeout=10) as client:
            response = drive_login(client, f"{base}/login", "alice", "alice-pw", stop_at=f"{base}/callback")
            assert response.status_code == 303
            assert response.headers["location"] == "/"
            session = client.cookies.get("rp_session")
            assert session in _RelyingParty.codes
            verifier = next(iter(_RelyingParty.pending.values()))
            tokens = provider.exchange_code(
                client, _RelyingParty.codes[session], redirect_uri=f"{base}/callback", verifier=verifier
            )
            assert verify(provider, tokens["id_token"], provider.client_id)["sub"] == "sub-alice"

            # the provider's session is remembered: a second sign-in needs no password
            again = drive_login(client, f"{base}/login", "alice", "wrong", stop_at=f"{base}/callback")
            assert again.status_code == 303

        with httpx.Client(timeout=10) as client, pytest.raises(OidcLoginError):
            drive_login(client, f"{base}/login", "alice", "wrong", stop_at=f"{base}/callback")
    finally:
        server.shutdown()
        server.server_close()
        provider.set_redirect_uris([])


def test_key_rotation() -> None:
    with start_oidc_provider(USERS[:1]) as provider:
        first = provider.access_token("alice", "alice-pw")
        old_kid = jwt.get_unverified_header(first)["kid"]
        assert provider.kids()[0] == old_kid

        new_kid = provider.rotate_keys()
        assert new_kid != old_kid
        assert {old_kid, new_kid} <= jwks_kids(provider)
        assert provider.kids()[:2] == [new_kid, old_kid]
        second = provider.access_token("alice", "alice-pw")
        assert jwt.get_unverified_header(second)["kid"] == new_kid
        assert verify(provider, first, provider.audience)["sub"] == "sub-alice"
        assert verify(provider, second, provider.audience)["sub"] == "sub-alice"

        newest = provider.rotate_keys(drop_old=True)
        kids = jwks_kids(provider)
        assert newest in kids
        assert old_kid not in kids
        assert new_kid not in kids
        with pytest.raises(jwt.PyJWKClientError):
            verify(provider, first, provider.audience)
        third = provider.access_token("alice", "alice-pw")
        assert jwt.get_unverified_header(third)["kid"] == newest
        assert verify(provider, third, provider.audience)["groups"] == ["eng", "hw-admins"]
    assert provider.process.returncode == 0
