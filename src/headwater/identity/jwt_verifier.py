"""Verification of OIDC bearer access tokens (JWTs) against the issuer's published signing keys.

Keys come from ``{issuer}/.well-known/openid-configuration`` → ``jwks_uri``, fetched with aiohttp
(never blocking the loop), cached by ``kid`` and refreshed when a token names an unknown ``kid`` (at
most once per ``min_refresh_interval_s``, concurrent refreshes share one fetch) and in the background
every ~10 minutes while in use. Verified tokens are cached until their ``exp``. Tokens are never
logged nor echoed in error messages.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
from jwt import exceptions as jwt_errors

log = logging.getLogger("headwater.identity")

_BACKGROUND_REFRESH_S = 600.0
_MAX_LEEWAY_S = 30.0
_MAX_TOKEN_CHARS = 16_384
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
#: The asymmetric algorithms that may ever be accepted, with the key type (and curves) each needs.
_RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_KEY_TYPES: dict[str, tuple[str, frozenset[str] | None]] = {
    **{a: ("RSA", None) for a in _RSA_ALGORITHMS},
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "ES256K": ("EC", frozenset({"secp256k1"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
}
_MESSAGES = {
    "malformed": "The bearer token is not a well-formed JWT.",
    "expired": "The access token has expired.",
    "not_yet_valid": "The access token is not valid yet.",
    "bad_issuer": "The access token was issued by an untrusted issuer.",
    "bad_audience": "The access token is not intended for this service (audience).",
    "bad_signature": "The access token's signature is invalid.",
    "unknown_kid": "The access token was signed with a key the issuer does not publish.",
    "alg_not_allowed": "The access token's signing algorithm is not allowed.",
    "jwks_unavailable": "The identity provider's signing keys could not be fetched; try again shortly.",
    "missing_claim": "The access token lacks a required claim.",
}
#: PyJWT's refusals → reasons (first match wins; anything else is "malformed").
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt_errors.ExpiredSignatureError, "expired"),
    (jwt_errors.ImmatureSignatureError, "not_yet_valid"),
    (jwt_errors.InvalidIssuerError, "bad_issuer"),
    (jwt_errors.InvalidAudienceError, "bad_audience"),
    (jwt_errors.InvalidSignatureError, "bad_signature"),
    (jwt_errors.InvalidAlgorithmError, "alg_not_allowed"),
)
_DEFAULT_ALGORITHMS = (*_RSA_ALGORITHMS, "ES256", "ES384", "ES512", "EdDSA")


class InvalidToken(Exception):
    """A bearer token was refused. ``str(exc)`` is safe to show the caller; ``reason`` is a short code."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or _MESSAGES.get(reason, "The access token is invalid."))
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    email: str | None
    username: str | None
    groups: tuple[str, ...]
    expires_at: float
    raw: Mapping[str, Any] = field(compare=False, repr=False)
    #: The issuer vouches for ``email`` (``email_verified: true``; some issuers send the string).
    email_verified: bool = False


@dataclass(slots=True)
class _Key:
    jwk: dict[str, Any]
    by_alg: dict[str, jwt.PyJWK]


class JwtVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        groups_claim: str = "groups",
        leeway_s: float = 30.0,
        algorithms: Sequence[str] = _DEFAULT_ALGORITHMS,
        cache_size: int = 10_000,
        min_refresh_interval_s: float = 10.0,
        http_timeout_s: float = 5.0,
    ) -> None:
        refused = [a for a in algorithms if a not in _KEY_TYPES]
        if refused:
            raise ValueError(f"unsupported or symmetric JWT algorithms: {refused}")
        self.issuer = issuer
        self.audience = audience
        self._discovery_url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self._groups_claim = groups_claim
        self._leeway = min(max(leeway_s, 0.0), _MAX_LEEWAY_S)
        self._algorithms = frozenset(algorithms)
        self._cache_size = max(cache_size, 1)
        self._min_refresh = min_refresh_interval_s
        self._timeout = aiohttp.ClientTimeout(total=http_timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._jwks_uri: str | None = None
        self._keys: dict[str, _Key] = {}
        self._last_fetch_failed = False
        self._last_attempt = -float("inf")
        self._refresh_task: asyncio.Task[None] | None = None
        self._cache: dict[str, tuple[float, TokenClaims]] = {}

    async def start(self) -> None:
        """Open the HTTP session and load the keys once; an unreachable issuer is only a warning."""
        self._http()
        await self._refresh(on_demand=False)

    async def close(self) -> None:
        task, self._refresh_task = self._refresh_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    @staticmethod
    def looks_like_jwt(token: str) -> bool:
        """Cheap check: three base64url segments whose first decodes to a JSON object with ``alg``."""
        parts = token.split(".")
        if len(parts) != 3 or len(token) > _MAX_TOKEN_CHARS or not all(set(p) <= _B64URL for p in parts):
            return False
        try:
            header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        except (ValueError, binascii.Error, RecursionError):
            return False
        return isinstance(header, dict) and isinstance(header.get("alg"), str)

    async def verify(self, token: str) -> TokenClaims:
        hit = self._cache.get(token)
        if hit is not None:
            if hit[0] > time.time():
                return hit[1]
            self._cache.pop(token, None)
        try:
            claims = await self._verify(token)
        except InvalidToken:
            raise
        except Exception as exc:  # a refusal must never surface as anything but InvalidToken
            log.warning("Unexpected error verifying an access token: %s", type(exc).__name__)
            raise InvalidToken("malformed") from None
        if claims.expires_at > time.time():
            self._remember(token, claims)
        return claims

    async def _verify(self, token: str) -> TokenClaims:
        if len(token) > _MAX_TOKEN_CHARS:
            raise InvalidToken("malformed")
        try:
            header = jwt.get_unverified_header(token)
        except jwt_errors.PyJWTError:
            raise InvalidToken("malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidToken("alg_not_allowed")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("malformed")
        key = self._find(kid)
        if key is None:
            await self._refresh(on_demand=True)
            key = self._find(kid)
            if key is None:
                failed = self._last_fetch_failed or not self._keys
                raise InvalidToken("jwks_unavailable" if failed else "unknown_kid")
        else:
            self._maybe_refresh_in_background()
        payload = self._decode(token, self._pyjwk(key, alg), alg)
        return self._claims(payload)

    def _find(self, kid: str | None) -> _Key | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _pyjwk(self, key: _Key, alg: str) -> jwt.PyJWK:
        """The key bound to ``alg``, refusing an algorithm the JWK's type, curve or ``alg`` contradict."""
        found = key.by_alg.get(alg)
        if found is not None:
            return found
        kty, curves = _KEY_TYPES[alg]
        declared = key.jwk.get("alg")
        if (
            key.jwk.get("kty") != kty
            or (curves is not None and key.jwk.get("crv") not in curves)
            or (declared is not None and declared != alg)
        ):
            raise InvalidToken("alg_not_allowed", "The token's algorithm does not match its signing key.")
        try:
            found = jwt.PyJWK(key.jwk, algorithm=alg)
        except jwt_errors.PyJWTError:
            raise InvalidToken("alg_not_allowed", "The signing key cannot verify this algorithm.") from None
        key.by_alg[alg] = found
        return found

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "sub"]},
            )
        except jwt_errors.MissingRequiredClaimError as exc:
            raise InvalidToken("missing_claim", f"The access token lacks the '{exc.claim}' claim.") from None
        except jwt_errors.PyJWTError as exc:
            raise InvalidToken(next((r for t, r in _REASONS if isinstance(exc, t)), "malformed")) from None

    def _claims(self, payload: dict[str, Any]) -> TokenClaims:
        subject = payload.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("missing_claim", "The access token lacks the 'sub' claim.")
        groups = payload.get(self._groups_claim)
        if isinstance(groups, str):
            group_names: tuple[str, ...] = (groups,)
        elif isinstance(groups, list):
            group_names = tuple(g for g in groups if isinstance(g, str))
        else:
            group_names = ()
        email, username = payload.get("email"), payload.get("preferred_username")
        return TokenClaims(
            subject=subject,
            email=email if isinstance(email, str) else None,
            username=username if isinstance(username, str) else None,
            groups=group_names,
            expires_at=float(payload["exp"]),
            raw=types.MappingProxyType(payload),
            email_verified=payload.get("email_verified") in (True, "true"),
        )

    def _remember(self, token: str, claims: TokenClaims) -> None:
        cache = self._cache
        if len(cache) >= self._cache_size:
            now = time.time()
            for stale in [t for t, (until, _) in cache.items() if until <= now]:
                del cache[stale]
            if len(cache) >= self._cache_size:  # still full: drop the oldest tenth
                for old in list(cache)[: max(1, self._cache_size // 10)]:
                    del cache[old]
        cache[token] = (claims.expires_at, claims)

    # -- keys -------------------------------------------------------------------------------------

    async def _refresh(self, *, on_demand: bool) -> None:
        """Fetch the keys, joining a fetch already under way; on demand at most every min interval."""
        task = self._refresh_task
        if task is None or task.done():
            now = time.monotonic()
            if on_demand and now - self._last_attempt < self._min_refresh:
                return
            self._last_attempt = now
            task = self._refresh_task = asyncio.get_running_loop().create_task(self._fetch_keys())
        await asyncio.shield(task)

    def _maybe_refresh_in_background(self) -> None:
        task = self._refresh_task
        if (task is None or task.done()) and time.monotonic() - self._last_attempt >= _BACKGROUND_REFRESH_S:
            self._last_attempt = time.monotonic()
            self._refresh_task = asyncio.get_running_loop().create_task(self._fetch_keys())

    async def _fetch_keys(self) -> None:
        try:
            if self._jwks_uri is None:
                discovery = await self._get_json(self._discovery_url)
                if discovery.get("issuer") != self.issuer:
                    raise ValueError(f"discovery document names issuer {discovery.get('issuer')!r}")
                jwks_uri = discovery.get("jwks_uri")
                if not isinstance(jwks_uri, str) or not jwks_uri:
                    raise ValueError("discovery document has no jwks_uri")
                self._jwks_uri = jwks_uri
            self._keys = self._parse_jwks(await self._get_json(self._jwks_uri))
            self._last_fetch_failed = False
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._last_fetch_failed = True
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("Could not load the signing keys of OIDC issuer %s: %s", self.issuer, reason)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, raise_for_status=True)
        return self._session

    async def _get_json(self, url: str) -> dict[str, Any]:
        async with self._http().get(url, headers={"Accept": "application/json"}) as response:
            document = json.loads(await response.read())
        if not isinstance(document, dict):
            raise ValueError(f"{url} did not return a JSON object")
        return document

    @staticmethod
    def _parse_jwks(document: dict[str, Any]) -> dict[str, _Key]:
        """Signing keys by ``kid``; keys PyJWT cannot use (or meant for encryption) are skipped."""
        raw = document.get("keys")
        if not isinstance(raw, list):
            raise ValueError("the JWKS document has no 'keys' list")
        keys: dict[str, _Key] = {}
        for jwk in raw:
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            try:
                parsed = jwt.PyJWK(jwk)
            except jwt_errors.PyJWTError:
                continue
            if parsed.algorithm_name in _KEY_TYPES:
                keys[parsed.key_id or ""] = _Key(jwk, {parsed.algorithm_name: parsed})
        if not keys:
            raise ValueError("the JWKS holds no usable signing key")
        return keys
