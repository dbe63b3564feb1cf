"""Browser sign-in: OIDC authorization code + PKCE (Authlib), then a server-side session.

``GET /auth/login`` sends the browser to the identity provider; ``GET /auth/callback`` checks the
state, exchanges the code (with the PKCE verifier), verifies the ID token (signature, issuer,
audience = client id, nonce), creates or updates the user and their groups, and sets two cookies:
``hw_session`` (HttpOnly) and ``hw_csrf`` (readable by the UI, echoed in ``X-CSRF-Token``).
``POST /auth/logout`` ends the session. Every sign-in, failed sign-in and sign-out is audited.

The state is bound to the browser that started the sign-in: ``/auth/login`` gives it an ``hw_login``
cookie, and the stored state is keyed by a hash of that cookie and the state, so a callback URL
replayed in another browser (login CSRF) or twice matches nothing. Failures answer 400 (403 for a
disabled user) in the admin API's error format; codes, tokens and secrets never reach a log or a reply.

Unauthenticated callers cannot make it write without bound (:mod:`headwater.admin.signin_limits`):
per source IP rates for both routes (429), a cap on sign-ins under way (503), and a rate of audit
events for failed callbacks (the rest are counted and logged in aggregate).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from headwater.admin.access import request_origin
from headwater.admin.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    IdentityConfig,
    principal_for,
    request_id,
    session_hash,
    source_ip,
)
from headwater.admin.signin_limits import SignInLimits, SourceRate
from headwater.audit.record import Entry, record_alone
from headwater.clock import utcnow
from headwater.control import ControlPlane
from headwater.identity.jwt_verifier import InvalidToken, JwtVerifier
from headwater.identity.provisioning import ExternalIdentity, provision
from headwater.storage.sql import identity as repo

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

log = logging.getLogger("headwater.signin")

router = APIRouter(prefix="/auth", include_in_schema=False)
LOGIN_TTL = timedelta(minutes=10)
LOGIN_COOKIE = "hw_login"
_BINDING = re.compile(r"[A-Za-z0-9_-]{43}")
#: A local path: one leading slash, then no backslash, whitespace nor control character anywhere.
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\s\\\x00-\x1f\x7f]*")
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass
class SignIn:
    cp: ControlPlane
    identity: IdentityConfig
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    public_url: str
    session_ttl_s: float
    id_tokens: JwtVerifier
    limits: SignInLimits = field(default_factory=SignInLimits)
    _metadata: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            # imported here (as Authlib below): only a sign-in needs them, and Authlib (with joserfc)
            # and httpx are ~5 MB resident in every worker otherwise
            import httpx

            async with httpx.AsyncClient(timeout=10.0) as http:
                response = await http.get(f"{self.issuer}/.well-known/openid-configuration")
                response.raise_for_status()
                metadata = dict(response.json())
            if metadata.get("issuer") != self.issuer:  # OIDC Discovery 4.3
                raise ValueError("the discovery document names another issuer")
            for endpoint in ("authorization_endpoint", "token_endpoint"):
                if not isinstance(metadata.get(endpoint), str):
                    raise ValueError(f"the discovery document has no {endpoint}")
            self._metadata = metadata
        return self._metadata

    def client(self, request: Request) -> AsyncOAuth2Client:
        from authlib.integrations.httpx_client import AsyncOAuth2Client  # (see metadata)

        base = self.public_url or str(request.base_url).rstrip("/")
        return AsyncOAuth2Client(
            self.client_id,
            self.client_secret,
            scope=self.scopes,
            redirect_uri=f"{base}/auth/callback",
            code_challenge_method="S256",
            timeout=10.0,
        )

    def secure(self, request: Request) -> bool:
        return request.url.scheme == "https" or self.public_url.startswith("https://")


def _signin(request: Request) -> SignIn | None:
    found: SignIn | None = request.app.state.signin
    return found


def _safe_return(value: str | None) -> str:
    """Only paths on this site: never an open redirect."""
    if value and len(value) <= 2048 and _LOCAL_PATH.fullmatch(value):
        return value
    return "/"


def _state_key(binding: str, state: str) -> str:
    """What the pending sign-in is stored under: only the browser holding ``binding`` finds it."""
    return hashlib.sha256(f"{binding}:{state}".encode()).hexdigest()


def _not_configured() -> Response:
    detail = (
        "Browser sign-in is not configured: it needs HEADWATER_OIDC_ISSUER, HEADWATER_OIDC_CLIENT_ID "
        "and HEADWATER_OIDC_CLIENT_SECRET (bearer access tokens need only the issuer and audience)."
    )
    return JSONResponse({"detail": detail}, status_code=404)


def _too_many(rate: SourceRate, what: str) -> Response:
    retry = rate.retry_after_s()
    detail = f"Too many {what} from your address; try again in {retry} s."
    return JSONResponse({"detail": detail}, 429, headers={"Retry-After": str(retry)})


async def _failed(
    request: Request, signin: SignIn, reason: str, user: str | None = None, status_code: int = 400
) -> Response:
    if signin.limits.audit_failure(source_ip(request)):
        actor = f"user:{user}" if user else "anonymous"
        entry = Entry("user.sign_in", "user", user or "-", outcome="failure", detail=reason)
        try:
            await record_alone(signin.cp.engine, request_origin(request, actor), entry)
        except Exception:
            log.exception("could not record a failed sign-in")
        log.warning("sign-in failed: %s", reason)
    return JSONResponse({"detail": f"Sign-in failed: {reason}. Start again at /auth/login."}, status_code)


@router.get("/login")
async def login(request: Request, return_to: str | None = None) -> Response:
    signin = _signin(request)
    if signin is None:
        return _not_configured()
    if not signin.limits.logins.allow(source_ip(request)):
        return _too_many(signin.limits.logins, "sign-ins")
    import httpx  # imported here: only a configured sign-in needs it (see SignIn.metadata)
    from authlib.common.security import generate_token

    try:
        metadata = await signin.metadata()
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        log.error("OIDC discovery failed: %s: %s", type(exc).__name__, exc)
        return JSONResponse({"detail": "The identity provider is unreachable; try again shortly."}, 503)
    presented = request.cookies.get(LOGIN_COOKIE, "")
    binding = presented if _BINDING.fullmatch(presented) else secrets.token_urlsafe(32)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    async with signin.client(request) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
    async with signin.cp.engine.begin() as conn:
        await repo.delete_expired(conn, utcnow() - LOGIN_TTL)
        if await repo.pending_logins(conn) >= signin.limits.max_pending_logins:
            log.warning("sign-in refused: %d sign-ins under way", signin.limits.max_pending_logins)
            detail = "Too many sign-ins are under way; try again in a minute."
            return JSONResponse({"detail": detail}, 503, headers={"Retry-After": "60"})
        await repo.save_login(conn, _state_key(binding, state), verifier, nonce, _safe_return(return_to))
    response = RedirectResponse(url, status_code=302)
    response.headers["cache-control"] = "no-store"
    max_age = int(LOGIN_TTL.total_seconds())
    response.set_cookie(
        LOGIN_COOKIE,
        binding,
        max_age,
        path="/auth",
        httponly=True,
        secure=signin.secure(request),
        samesite="lax",
    )
    return response


@router.get("/callback")
async def callback(request: Request) -> Response:
    signin = _signin(request)
    if signin is None:
        return _not_configured()
    if not signin.limits.callbacks.allow(source_ip(request)):
        return _too_many(signin.limits.callbacks, "sign-in callbacks")
    params = request.query_params
    state, code = params.get("state", ""), params.get("code", "")
    binding = request.cookies.get(LOGIN_COOKIE, "")
    pending = None
    if state and _BINDING.fullmatch(binding):
        async with signin.cp.engine.begin() as conn:
            pending = await repo.take_login(conn, _state_key(binding, state), utcnow() - LOGIN_TTL)
    if "error" in params:
        error = params["error"] if _ERROR_CODE.fullmatch(params["error"]) else "an unknown error"
        return await _failed(request, signin, f"the identity provider answered {error}")
    if pending is None:
        return await _failed(
            request, signin, "unknown, expired or already used sign-in state, or one from another browser"
        )
    if not code:
        return await _failed(request, signin, "the identity provider sent no authorization code")
    if "iss" in params and params["iss"] != signin.issuer:  # RFC 9207: a mix-up attack
        return await _failed(request, signin, "the authorization response names another issuer")
    verifier, nonce, return_to = pending
    try:
        metadata = await signin.metadata()
        async with signin.client(request) as client:
            token = await client.fetch_token(metadata["token_endpoint"], code=code, code_verifier=verifier)
        claims = await signin.id_tokens.verify(str(token.get("id_token", "")))
    except InvalidToken as exc:
        return await _failed(request, signin, f"invalid ID token ({exc.reason})")
    except Exception as exc:  # the IdP refused the code, or is unreachable; its reply is not logged
        log.warning("OIDC code exchange failed: %s", getattr(exc, "error", None) or type(exc).__name__)
        return await _failed(request, signin, "the identity provider refused the authorization code")
    if not secrets.compare_digest(str(claims.raw.get("nonce", "")).encode(), nonce.encode()):
        return await _failed(request, signin, "the ID token's nonce does not match")
    audience = claims.raw.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.raw.get("azp") != signin.client_id:
        return await _failed(request, signin, "the ID token was issued to another client (azp)")
    identity = ExternalIdentity.of_token(claims)
    record = await provision(
        signin.cp, identity, sign_in=True, request_id=request_id(request), source_ip=source_ip(request)
    )
    try:
        principal = principal_for(record, signin.identity, "session")
    except HTTPException:
        return await _failed(request, signin, f"the user {record.name} is disabled", record.name, 403)
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=signin.session_ttl_s)
    origin = request_origin(request, principal.actor)
    async with signin.cp.engine.begin() as conn:
        await repo.create_session(conn, session_hash(cookie), record.name, csrf, expires, origin.source_ip)
    detail = f"role {principal.role}; groups {', '.join(sorted(principal.groups)) or 'none'}"
    await record_alone(signin.cp.engine, origin, Entry("user.sign_in", "user", record.name, detail=detail))
    response = RedirectResponse(return_to, status_code=303)
    response.headers["cache-control"] = "no-store"
    secure, max_age = signin.secure(request), int(signin.session_ttl_s)
    response.set_cookie(SESSION_COOKIE, cookie, max_age, httponly=True, secure=secure, samesite="lax")
    response.set_cookie(CSRF_COOKIE, csrf, max_age, httponly=False, secure=secure, samesite="lax")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    signin = _signin(request)
    token = request.cookies.get(SESSION_COOKIE)
    response = JSONResponse({"detail": "Signed out."})
    secure = signin.secure(request) if signin is not None else request.url.scheme == "https"
    response.delete_cookie(SESSION_COOKIE, httponly=True, secure=secure, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, httponly=False, secure=secure, samesite="lax")
    if signin is None or not token:
        return response
    engine = signin.cp.engine
    async with engine.begin() as conn:
        found = await repo.find_session(conn, session_hash(token))
        if found is None:
            return response
        user, csrf = found
        presented = request.headers.get("x-csrf-token", "")
        if not presented or not secrets.compare_digest(presented.encode(), csrf.encode()):
            return JSONResponse({"detail": "Missing or wrong CSRF token (X-CSRF-Token)."}, status_code=403)
        await repo.delete_session(conn, session_hash(token))
    origin = request_origin(request, f"user:{user}")
    await record_alone(engine, origin, Entry("user.sign_out", "user", user))
    return response
