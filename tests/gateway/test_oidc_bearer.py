"""OIDC access tokens on the gateway, from a real provider (npm's oidc-provider) through the OpenAI SDK.

The caller becomes the user: policies apply by the token's groups and usage names the user.
Refused tokens get a 401 in OpenAI's shape that never echoes the token. Tokens the real provider
cannot be made to issue (not yet valid, another issuer or audience, ``alg: none``, an unpublished
key; expired ones too, to spare a 30 s wait past the leeway) are signed here with a key published by
a tiny issuer of the test's own (:class:`TinyIssuer`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import openai
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from openai.types.chat import ChatCompletionMessageParam

from tests.oidc_provider import TEST_USERS, OidcProvider, oidc_env, start_oidc_provider
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

MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Which river has the most headwaters?"}
]
PASSWORDS = {user.username: user.password for user in TEST_USERS}


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    """A provider of this module's own: the JWKS rotation below must not disturb other modules."""
    started = start_oidc_provider(TEST_USERS)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def gateway(database_url: str, provider: OidcProvider, sim: Sim) -> Iterator[Server]:
    server = start_server(database_url, extra_env=oidc_env(provider, sign_in=False))
    apply(
        server,
        doc("Group", "engineering"),
        model_doc("open-chat", sim.url),
        model_doc("eng-only", sim.url, access="restricted"),
        doc(
            "Policy",
            "engineering-models",
            assets={"models": ["eng-only"]},
            targets={"groups": ["engineering"]},
        ),
    )
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def tokens(provider: OidcProvider) -> dict[str, str]:
    return {name: provider.access_token(name, PASSWORDS[name]) for name in ("alice", "bob")}


def sdk(server: Server, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key=token, max_retries=0)


def chat(server: Server, token: str, model: str = "open-chat") -> httpx.Response:
    return httpx.post(
        f"{server.v1}/chat/completions",
        json={"model": model, "messages": MESSAGES},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def assert_refused(response: httpx.Response, token: str, code: str) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "authentication_error"
    assert error["code"] == code, error
    assert all(part not in response.text for part in token.split(".") if len(part) > 8)
    return error


def header(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return decoded


def test_chat_completion_with_an_access_token_names_the_user(gateway: Server, tokens: dict[str, str]) -> None:
    with sdk(gateway, tokens["alice"]) as client:
        raw = client.chat.completions.with_raw_response.create(model="open-chat", messages=MESSAGES)
        reply = raw.parse()
        assert reply.choices[0].message.content
        listed = [model.id for model in client.models.list()]
    assert "open-chat" in listed
    request_id = raw.headers["x-request-id"]

    def event() -> dict[str, Any] | None:
        return next((e for e in usage_events(gateway) if e["request_id"] == request_id), None)

    found = wait_for(event, timeout=5)
    assert found["principal"] == "user:alice"
    assert found["key_id"] == "oidc"
    assert found["status"] == "success" and found["model"] == "open-chat"

    # first seen on the gateway: created in the background, like at a sign-in, and on the record
    with gateway.admin() as admin:
        user = wait_for(
            lambda: admin.get("/users/alice").json() if admin.get("/users/alice").is_success else None
        )
        assert user["groups"] == ["engineering"]
        created = admin.get("/audit/events", params={"action": "user.create", "target": "alice"}).json()
    assert [event["actor"] for event in created["items"]] == ["user:alice"]
    assert created["items"][0]["after"]["email"] == "alice@example.com"


def test_streaming_with_an_access_token(gateway: Server, tokens: dict[str, str]) -> None:
    with sdk(gateway, tokens["bob"]) as client:
        chunks = list(client.chat.completions.create(model="open-chat", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_policies_apply_by_the_tokens_groups(gateway: Server, tokens: dict[str, str]) -> None:
    with sdk(gateway, tokens["alice"]) as client:  # alice is in engineering
        reply = client.chat.completions.create(model="eng-only", messages=MESSAGES)
        assert reply.choices[0].message.content
    with sdk(gateway, tokens["bob"]) as client, pytest.raises(openai.PermissionDeniedError) as refused:
        client.chat.completions.create(model="eng-only", messages=MESSAGES)  # bob is in research
    assert refused.value.status_code == 403
    assert refused.value.code == "model_not_allowed"


def test_tampered_tokens_are_refused(gateway: Server, tokens: dict[str, str]) -> None:
    token = tokens["alice"]
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "sub-bob"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    for bad in (f"{head}.{forged}.{signature}", f"{head}.{payload}.{flipped}"):
        error = assert_refused(chat(gateway, bad), bad, "invalid_access_token")
        assert "signature" in error["message"]
    with sdk(gateway, f"{head}.{forged}.{signature}") as client, pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="open-chat", messages=MESSAGES)


def test_api_keys_still_work_beside_tokens(gateway: Server) -> None:
    key = create_key(gateway, name="beside-tokens")["key"]
    assert chat(gateway, key).status_code == 200
    assert_refused(chat(gateway, key[:-1] + ("x" if key[-1] != "x" else "y")), key, "invalid_api_key")


def test_a_disabled_user_is_refused(gateway: Server, provider: OidcProvider) -> None:
    token = provider.access_token("dave", PASSWORDS["dave"])
    assert chat(gateway, token).status_code == 200
    with gateway.admin() as admin:
        admin.put("/users/dave", json={"status": "disabled"}).raise_for_status()
    error = assert_refused(chat(gateway, token), token, "user_disabled")
    assert "dave" in error["message"]
    with gateway.admin() as admin:
        admin.put("/users/dave", json={"status": "active"}).raise_for_status()
    assert chat(gateway, token).status_code == 200


def test_jwks_rotation_a_token_signed_with_a_new_key_is_accepted(
    gateway: Server, provider: OidcProvider, tokens: dict[str, str]
) -> None:
    before = header(tokens["alice"])["kid"]
    kid = provider.rotate_keys()
    assert kid != before and kid in provider.kids()
    fresh = provider.access_token("alice", PASSWORDS["alice"])
    assert header(fresh)["kid"] == kid
    # The unknown kid makes the gateway fetch the JWKS again (at most every 10 s per process).
    wait_for(lambda: chat(gateway, fresh).status_code == 200, timeout=15, interval=0.5)
    assert chat(gateway, tokens["alice"]).status_code == 200  # the old key is still published


# ---- tokens the real provider will not issue --------------------------------------------------------
class TinyIssuer:
    """Discovery and a JWKS on 127.0.0.1, served from a thread; signs whatever a test asks for."""

    audience = "headwater-api"

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": "tiny-1", "use": "sig", "alg": "RS256"}]}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {"issuer": issuer.issuer, "jwks_uri": f"{issuer.issuer}/jwks"}
                elif self.path == "/jwks":
                    body = issuer.jwks
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def sign(self, *, key: Any = None, kid: str | None = "tiny-1", alg: str = "RS256", **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "sub-erin",
            "preferred_username": "erin",
            "groups": ["engineering"],
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        headers = {"kid": kid} if kid else None
        return jwt.encode(payload, self.key if key is None else key, algorithm=alg, headers=headers)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def tiny() -> Iterator[TinyIssuer]:
    issuer = TinyIssuer()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="module")
def tiny_gateway(tmp_path_factory: pytest.TempPathFactory, tiny: TinyIssuer, sim: Sim) -> Iterator[Server]:
    """Signature and claim checks do not touch the database: SQLite is enough."""
    database = tmp_path_factory.mktemp("tiny") / "hw.db"
    env = {"HEADWATER_OIDC_ISSUER": tiny.issuer, "HEADWATER_OIDC_AUDIENCE": tiny.audience}
    server = start_server(f"sqlite+aiosqlite:///{database}", extra_env=env)
    apply(server, model_doc("open-chat", sim.url))
    yield server
    stop(server.process)


def _unsigned(tiny: TinyIssuer) -> str:
    now = int(time.time())
    claims = {"iss": tiny.issuer, "aud": tiny.audience, "sub": "sub-erin", "exp": now + 300}
    return jwt.encode(claims, None, algorithm="none", headers={"kid": "tiny-1"})  # type: ignore[arg-type]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_key_as_hmac_secret(tiny: TinyIssuer) -> str:
    """The classic confusion attack: HS256 keyed with the issuer's public key (PyJWT won't sign it)."""
    pem = tiny.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {"iss": tiny.issuer, "aud": tiny.audience, "sub": "sub-erin", "exp": int(time.time()) + 300}
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': 'tiny-1'}).encode())}."
    signing_input += _b64(json.dumps(claims).encode())
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _bad_token(tiny: TinyIssuer, case: str) -> str:
    now = int(time.time())
    if case == "expired":
        return tiny.sign(iat=now - 600, exp=now - 120)  # past the 30 s leeway
    if case == "not_yet_valid":
        return tiny.sign(nbf=now + 120)
    if case == "wrong_issuer":
        return tiny.sign(iss="https://login.example.com")
    if case == "wrong_audience":
        return tiny.sign(aud="another-service")
    if case == "alg_none":
        return _unsigned(tiny)
    if case == "hs256_with_the_public_key":
        return _public_key_as_hmac_secret(tiny)
    if case == "unknown_kid":
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return tiny.sign(key=stranger, kid="not-published")
    raise AssertionError(case)


BAD = {
    "expired": ("access_token_expired", "expired"),
    "not_yet_valid": ("invalid_access_token", "not valid yet"),
    "wrong_issuer": ("invalid_access_token", "issuer"),
    "wrong_audience": ("invalid_access_token", "audience"),
    "alg_none": ("invalid_access_token", "algorithm"),
    "hs256_with_the_public_key": ("invalid_access_token", "algorithm"),
    "unknown_kid": ("invalid_access_token", "key the issuer does not publish"),
}


def test_a_token_of_the_tiny_issuer_is_accepted(tiny_gateway: Server, tiny: TinyIssuer) -> None:
    token = tiny.sign()
    assert chat(tiny_gateway, token).status_code == 200  # so every refusal below is the token's doing


@pytest.mark.parametrize("case", list(BAD))
def test_bad_tokens_are_refused_in_openai_shape(tiny_gateway: Server, tiny: TinyIssuer, case: str) -> None:
    code, words = BAD[case]
    token = _bad_token(tiny, case)
    error = assert_refused(chat(tiny_gateway, token), token, code)
    assert words in error["message"], error
    with sdk(tiny_gateway, token) as client, pytest.raises(openai.AuthenticationError) as refused:
        client.models.list()
    assert refused.value.code == code
