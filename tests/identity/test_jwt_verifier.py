"""JwtVerifier against a real (local) OIDC issuer serving a discovery document and a JWKS we control."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from headwater.identity.jwt_verifier import InvalidToken, JwtVerifier, TokenClaims

AUDIENCE = "headwater"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class Idp:
    """A tiny OIDC issuer: discovery + JWKS, with counters and knobs."""

    def __init__(self) -> None:
        self.issuer = ""
        self.discovery_issuer: str | None = None  # None: the real issuer
        self.jwks: list[dict[str, Any]] = []
        self.jwks_fetches = 0
        self.jwks_delay_s = 0.0
        self._runner: web.AppRunner | None = None

    def publish(self, key: PrivateKey, kid: str, **extra: Any) -> None:
        if isinstance(key, rsa.RSAPrivateKey):
            jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        else:
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        self.jwks.append({**jwk, "kid": kid, "use": "sig", **extra})

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/keys", self._keys)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.issuer = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _discovery(self, request: web.Request) -> web.Response:
        issuer = self.discovery_issuer or self.issuer
        return web.json_response({"issuer": issuer, "jwks_uri": f"{self.issuer}/keys"})

    async def _keys(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        await asyncio.sleep(self.jwks_delay_s)
        return web.json_response({"keys": self.jwks})


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_key_2() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
async def idp(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> AsyncIterator[Idp]:
    server = Idp()
    server.publish(rsa_key, "rsa-1")
    server.publish(ec_key, "ec-1")
    await server.start()
    yield server
    await server.stop()


Factory = Callable[..., Awaitable[JwtVerifier]]


@pytest.fixture
async def make_verifier(idp: Idp) -> AsyncIterator[Factory]:
    made: list[JwtVerifier] = []

    async def make(issuer: str | None = None, **options: Any) -> JwtVerifier:
        verifier = JwtVerifier(issuer or idp.issuer, AUDIENCE, **options)
        made.append(verifier)
        await verifier.start()
        return verifier

    yield make
    for verifier in made:
        await verifier.close()


def sign(key: Any, kid: str | None, issuer: str, *, alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": issuer, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300, **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid} if kid else None)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def refused(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    assert not token or token not in str(caught.value)
    return caught.value.reason


async def test_valid_rs256_and_es256(idp: Idp, make_verifier: Factory, rsa_key: Any, ec_key: Any) -> None:
    verifier = await make_verifier()
    token = sign(rsa_key, "rsa-1", idp.issuer, email="a@x.org", preferred_username="alice", groups=["ml"])
    claims = await verifier.verify(token)
    assert claims.subject == "alice" and claims.email == "a@x.org" and claims.username == "alice"
    assert claims.groups == ("ml",) and claims.raw["aud"] == AUDIENCE
    assert claims.expires_at == float(claims.raw["exp"])
    es = await verifier.verify(sign(ec_key, "ec-1", idp.issuer, alg="ES256", sub="bob"))
    assert (es.subject, es.email, es.username, es.groups) == ("bob", None, None, ())


async def test_ps256_with_rsa_key_that_declares_no_alg(
    idp: Idp, make_verifier: Factory, rsa_key: Any
) -> None:
    verifier = await make_verifier()
    assert (await verifier.verify(sign(rsa_key, "rsa-1", idp.issuer, alg="PS256"))).subject == "alice"


async def test_tampered_payload_and_signature(
    idp: Idp, make_verifier: Factory, rsa_key: Any, ec_key: Any
) -> None:
    verifier = await make_verifier()
    for key, kid, alg in ((rsa_key, "rsa-1", "RS256"), (ec_key, "ec-1", "ES256")):
        header, payload, signature = sign(key, kid, idp.issuer, alg=alg).split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        forged = f"{header}.{b64({**claims, 'sub': 'admin'})}.{signature}"
        assert await refused(verifier, forged) == "bad_signature"
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        assert await refused(verifier, f"{header}.{payload}.{flipped}") == "bad_signature"


async def test_signed_by_another_key_with_our_kid(idp: Idp, make_verifier: Factory, rsa_key_2: Any) -> None:
    verifier = await make_verifier()
    assert await refused(verifier, sign(rsa_key_2, "rsa-1", idp.issuer)) == "bad_signature"


async def test_time_claims(idp: Idp, make_verifier: Factory, rsa_key: Any) -> None:
    verifier = await make_verifier()
    now = int(time.time())
    assert await refused(verifier, sign(rsa_key, "rsa-1", idp.issuer, exp=now - 120)) == "expired"
    assert (await verifier.verify(sign(rsa_key, "rsa-1", idp.issuer, exp=now - 10))).subject == "alice"
    assert await refused(verifier, sign(rsa_key, "rsa-1", idp.issuer, nbf=now + 120)) == "not_yet_valid"
    assert (await verifier.verify(sign(rsa_key, "rsa-1", idp.issuer, nbf=now + 10))).subject == "alice"
    assert await refused(verifier, sign(rsa_key, "rsa-1", idp.issuer, iat=now + 120)) == "not_yet_valid"


async def test_leeway_is_clamped_to_30_seconds(idp: Idp, make_verifier: Factory, rsa_key: Any) -> None:
    verifier = await make_verifier(leeway_s=3600)
    token = sign(rsa_key, "rsa-1", idp.issuer, exp=int(time.time()) - 60)
    assert await refused(verifier, token) == "expired"


async def test_issuer_and_audience(idp: Idp, make_verifier: Factory, rsa_key: Any) -> None:
    verifier = await make_verifier()
    assert await refused(verifier, sign(rsa_key, "rsa-1", "https://evil.example")) == "bad_issuer"
    assert await refused(verifier, sign(rsa_key, "rsa-1", idp.issuer, aud="other")) == "bad_audience"
    assert await refused(verifier, sign(rsa_key, "rsa-1", idp.issuer, aud=["a", "b"])) == "bad_audience"
    claims = await verifier.verify(sign(rsa_key, "rsa-1", idp.issuer, aud=["account", AUDIENCE]))
    assert claims.subject == "alice"


async def test_required_claims(idp: Idp, make_verifier: Factory, rsa_key: Any) -> None:
    verifier = await make_verifier()
    for claim in ("sub", "exp", "iss", "aud"):
        missing: dict[str, Any] = {claim: None}
        token = sign(rsa_key, "rsa-1", idp.issuer, **missing)
        with pytest.raises(InvalidToken) as caught:
            await verifier.verify(token)
        assert caught.value.reason == "missing_claim" and f"'{claim}'" in str(caught.value)
    assert await refused(verifier, sign(rsa_key, "rsa-1", idp.issuer, sub="")) == "missing_claim"


async def test_alg_none_and_hs256_with_public_key_are_refused(
    idp: Idp, make_verifier: Factory, rsa_key: Any
) -> None:
    verifier = await make_verifier()
    claims = json.loads(base64.urlsafe_b64decode(sign(rsa_key, "rsa-1", idp.issuer).split(".")[1] + "=="))
    none_token = f"{b64({'alg': 'none', 'kid': 'rsa-1'})}.{b64(claims)}."
    assert await refused(verifier, none_token) == "alg_not_allowed"
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'rsa-1'})}.{b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    hs_token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert await refused(verifier, hs_token) == "alg_not_allowed"
    with pytest.raises(ValueError):
        JwtVerifier(idp.issuer, AUDIENCE, algorithms=["RS256", "HS256"])
    with pytest.raises(ValueError):
        JwtVerifier(idp.issuer, AUDIENCE, algorithms=["none"])


async def test_alg_must_match_the_key(idp: Idp, make_verifier: Factory, rsa_key: Any, ec_key: Any) -> None:
    idp.publish(rsa_key, "rsa-pinned", alg="RS256")
    verifier = await make_verifier()
    # An RSA-signed token naming the EC key, and a PS256 token naming a key pinned to RS256.
    assert await refused(verifier, sign(rsa_key, "ec-1", idp.issuer)) == "alg_not_allowed"
    assert await refused(verifier, sign(rsa_key, "rsa-pinned", idp.issuer, alg="PS256")) == "alg_not_allowed"
    assert (await verifier.verify(sign(rsa_key, "rsa-pinned", idp.issuer))).subject == "alice"
    # An algorithm left out of the allowlist.
    strict = await make_verifier(algorithms=["ES256"])
    assert await refused(strict, sign(rsa_key, "rsa-1", idp.issuer)) == "alg_not_allowed"


async def test_malformed(idp: Idp, make_verifier: Factory) -> None:
    verifier = await make_verifier()
    for token in ("", "hwk_abc", "a.b.c", "not.a.jwt", f"{b64({'alg': 'RS256'})}.!!.x", "x" * 20_000):
        assert await refused(verifier, token) == "malformed"


async def test_unknown_kid_refreshes_once_then_fails(idp: Idp, make_verifier: Factory, rsa_key: Any) -> None:
    verifier = await make_verifier(min_refresh_interval_s=0.2)
    assert idp.jwks_fetches == 1
    await asyncio.sleep(0.25)
    assert await refused(verifier, sign(rsa_key, "nope", idp.issuer)) == "unknown_kid"
    assert idp.jwks_fetches == 2
    assert await refused(verifier, sign(rsa_key, "nope", idp.issuer, sub="x")) == "unknown_kid"
    assert idp.jwks_fetches == 2  # rate-limited


async def test_key_rotation(idp: Idp, make_verifier: Factory, rsa_key_2: Any) -> None:
    verifier = await make_verifier(min_refresh_interval_s=0.3)
    assert idp.jwks_fetches == 1
    idp.publish(rsa_key_2, "rsa-2")
    rotated = [sign(rsa_key_2, "rsa-2", idp.issuer, sub=f"user-{i}") for i in range(20)]
    # Within the minimum interval the new key is not fetched yet.
    assert await refused(verifier, rotated[0]) == "unknown_kid"
    assert idp.jwks_fetches == 1
    await asyncio.sleep(0.35)
    idp.jwks_delay_s = 0.1  # keep the fetch in flight while all 20 callers arrive
    results = await asyncio.gather(*(verifier.verify(token) for token in rotated))
    assert [c.subject for c in results] == [f"user-{i}" for i in range(20)]
    assert idp.jwks_fetches == 2  # one fetch for 20 concurrent callers
    idp.jwks_delay_s = 0.0
    assert await refused(verifier, sign(rsa_key_2, "rsa-3", idp.issuer)) == "unknown_kid"
    assert idp.jwks_fetches == 2  # rate-limited


async def test_issuer_down_at_start(rsa_key: Any, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}"
    verifier = JwtVerifier(issuer, AUDIENCE, min_refresh_interval_s=0.2, http_timeout_s=2)
    server = Idp()
    server.publish(rsa_key, "rsa-1")
    token = sign(rsa_key, "rsa-1", issuer)
    try:
        with caplog.at_level(logging.WARNING, logger="headwater.identity"):
            await verifier.start()  # does not raise
            assert await refused(verifier, token) == "jwks_unavailable"
            await asyncio.sleep(0.25)
            assert await refused(verifier, token) == "jwks_unavailable"
        assert caplog.records and all(token not in r.getMessage() for r in caplog.records)
        await server.start(port)
        await asyncio.sleep(0.25)
        assert (await verifier.verify(token)).subject == "alice"
    finally:
        await verifier.close()
        await server.stop()


async def test_discovery_must_name_the_configured_issuer(
    idp: Idp, make_verifier: Factory, rsa_key: Any
) -> None:
    idp.discovery_issuer = "https://someone-else.example"
    verifier = await make_verifier()
    assert idp.jwks_fetches == 0
    assert await refused(verifier, sign(rsa_key, "rsa-1", idp.issuer)) == "jwks_unavailable"


async def test_trailing_slash_issuer(idp: Idp, make_verifier: Factory, rsa_key: Any) -> None:
    idp.discovery_issuer = idp.issuer + "/"
    verifier = await make_verifier(issuer=idp.issuer + "/")
    assert (await verifier.verify(sign(rsa_key, "rsa-1", idp.issuer + "/"))).subject == "alice"


@pytest.mark.parametrize(
    ("groups_claim", "claims", "expected"),
    [
        ("groups", {"groups": ["ml", "ops", 7]}, ("ml", "ops")),
        ("groups", {"groups": "ml"}, ("ml",)),
        ("groups", {}, ()),
        ("roles", {"roles": ["admin"], "groups": ["ml"]}, ("admin",)),
        ("roles", {"groups": ["ml"]}, ()),
    ],
)
async def test_groups(
    idp: Idp,
    make_verifier: Factory,
    rsa_key: Any,
    groups_claim: str,
    claims: dict[str, Any],
    expected: tuple[str, ...],
) -> None:
    verifier = await make_verifier(groups_claim=groups_claim)
    assert (await verifier.verify(sign(rsa_key, "rsa-1", idp.issuer, **claims))).groups == expected


async def test_cache_returns_same_claims_without_refetching(
    idp: Idp, make_verifier: Factory, rsa_key: Any
) -> None:
    verifier = await make_verifier()
    token = sign(rsa_key, "rsa-1", idp.issuer)
    first = await verifier.verify(token)
    await idp.stop()  # the issuer going away does not matter to a cached token
    assert await verifier.verify(token) is first
    assert idp.jwks_fetches == 1
    assert isinstance(first, TokenClaims)


async def test_failed_tokens_are_not_cached(idp: Idp, make_verifier: Factory, rsa_key: Any) -> None:
    verifier = await make_verifier()
    token = sign(rsa_key, "rsa-1", idp.issuer, aud="other")
    for _ in range(2):
        assert await refused(verifier, token) == "bad_audience"


async def test_expired_cached_token_is_rejected(idp: Idp, make_verifier: Factory, rsa_key: Any) -> None:
    verifier = await make_verifier(leeway_s=0)
    exp = int(time.time()) + 2
    token = sign(rsa_key, "rsa-1", idp.issuer, exp=exp)
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first
    await asyncio.sleep(exp - time.time() + 0.05)
    assert await refused(verifier, token) == "expired"


async def test_cache_is_bounded(idp: Idp, make_verifier: Factory, rsa_key: Any) -> None:
    verifier = await make_verifier(cache_size=10)
    tokens = [sign(rsa_key, "rsa-1", idp.issuer, sub=f"u{i}") for i in range(25)]
    for token in tokens:
        await verifier.verify(token)
    assert len(verifier._cache) <= 10
    assert tokens[-1] in verifier._cache


def test_looks_like_jwt(rsa_key: Any) -> None:
    assert JwtVerifier.looks_like_jwt(sign(rsa_key, "rsa-1", "https://idp.example"))
    assert JwtVerifier.looks_like_jwt(f"{b64({'alg': 'none'})}.{b64({})}.")
    for token in (
        "hwk_abc123",
        "a.b",
        "a.b.c",
        f"{b64({'typ': 'JWT'})}.e30.x",
        f"{b64({'alg': 1})}.e30.x",
        "a b.c.d",
    ):
        assert not JwtVerifier.looks_like_jwt(token)


async def test_keys_are_refreshed_in_background_when_used(
    idp: Idp, make_verifier: Factory, rsa_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("headwater.identity.jwt_verifier._BACKGROUND_REFRESH_S", 0.2)
    verifier = await make_verifier()
    await verifier.verify(sign(rsa_key, "rsa-1", idp.issuer, sub="a"))
    assert idp.jwks_fetches == 1
    await asyncio.sleep(0.25)
    idp.jwks_delay_s = 0.2
    started = time.monotonic()
    await verifier.verify(sign(rsa_key, "rsa-1", idp.issuer, sub="b"))
    assert time.monotonic() - started < 0.15  # the caller does not wait for the refresh
    await asyncio.sleep(0.3)
    assert idp.jwks_fetches == 2


async def test_verify_without_start_fetches_lazily(idp: Idp, rsa_key: Any) -> None:
    verifier = JwtVerifier(idp.issuer, AUDIENCE)
    try:
        assert (await verifier.verify(sign(rsa_key, "rsa-1", idp.issuer))).subject == "alice"
    finally:
        await verifier.close()


async def test_tokens_never_reach_the_logs(
    idp: Idp, make_verifier: Factory, rsa_key: Any, caplog: pytest.LogCaptureFixture
) -> None:
    verifier = await make_verifier(min_refresh_interval_s=0)
    tokens = [
        sign(rsa_key, "rsa-1", idp.issuer, aud="other"),
        sign(rsa_key, "unknown", idp.issuer),
        sign(rsa_key, "rsa-1", "https://evil.example"),
    ]
    await idp.stop()
    with caplog.at_level(logging.DEBUG):
        for token in tokens:
            await refused(verifier, token)
    assert caplog.records  # the failed refresh was logged, without any token
    for token in tokens:
        assert all(
            token not in r.getMessage() and token.split(".")[2] not in r.getMessage() for r in caplog.records
        )
