"""Browser sign-in: OIDC authorization code + PKCE (Authlib), then a server-side session.

``GET /auth/login`` sends the browser to the identity provider; ``GET /auth/callback`` checks the
state, exchanges the code (with the PKCE verifier), verifies the ID token (signature, issuer,
audience = client id, nonce), creates or updates the user and their groups, and sets two cookies:
``hw_session`` (HttpOnly) and ``hw_csrf`` (readable by the UI, echoed in ``X-CSRF-Token``).
``POST /auth/logout`` ends the session. Every sign-in, failed sign-in and sign-out is audited.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from headwater.admin.access import request_origin
from headwater.admin.auth import CSRF_COOKIE, SESSION_COOKIE, IdentityConfig, principal_for, session_hash
from headwater.audit.record import Entry, record_alone
from headwater.clock import utcnow
from headwater.control import ControlPlane
from headwater.identity.jwt_verifier import InvalidToken, JwtVerifier
from headwater.identity.principal import group_names
from headwater.identity.provisioning import ExternalIdentity, provision
from headwater.storage.sql import identity as repo

log = logging.getLogger("headwater.signin")

router = APIRouter(prefix="/auth", include_in_schema=False)
LOGIN_TTL = timedelta(minutes=10)


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
    _metadata: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            async with httpx.AsyncClient(timeout=10.0) as http:
                response = await http.get(f"{self.issuer}/.well-known/openid-configuration")
                response.raise_for_status()
                self._metadata = dict(response.json())
        return self._metadata

    def client(self, request: Request) -> AsyncOAuth2Client:
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
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def _failed(request: Request, signin: SignIn | None, reason: str, actor: str = "anonymous") -> Response:
    if signin is not None:
        entry = Entry(
            "user.sign_in", "user", actor.partition(":")[2] or "-", outcome="failure", detail=reason
        )
        try:
            await record_alone(signin.cp.engine, request_origin(request, actor), entry)
        except Exception:
            log.exception("could not record a failed sign-in")
    return JSONResponse({"detail": f"Sign-in failed: {reason}"}, status_code=401)


@router.get("/login")
async def login(request: Request, return_to: str | None = None) -> Response:
    signin = _signin(request)
    if signin is None:
        return JSONResponse(
            {"detail": "Browser sign-in is not configured (HEADWATER_OIDC_ISSUER and _CLIENT_ID)."},
            status_code=404,
        )
    try:
        metadata = await signin.metadata()
    except (httpx.HTTPError, ValueError) as exc:
        log.error("OIDC discovery failed: %s", exc)
        return JSONResponse({"detail": "The identity provider is unreachable."}, status_code=503)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    url, _ = signin.client(request).create_authorization_url(
        metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
    )
    async with signin.cp.engine.begin() as conn:
        await repo.delete_expired(conn, utcnow() - LOGIN_TTL)
        await repo.save_login(conn, state, verifier, nonce, _safe_return(return_to))
    return RedirectResponse(url, status_code=302)


@router.get("/callback")
async def callback(request: Request) -> Response:
    signin = _signin(request)
    if signin is None:
        return await _failed(request, None, "browser sign-in is not configured")
    params = request.query_params
    if "error" in params:
        return await _failed(request, signin, f"the identity provider answered {params['error']}")
    state, code = params.get("state", ""), params.get("code", "")
    async with signin.cp.engine.begin() as conn:
        pending = await repo.take_login(conn, state, utcnow() - LOGIN_TTL) if state else None
    if pending is None or not code:
        return await _failed(request, signin, "unknown or expired sign-in state")
    verifier, nonce, return_to = pending
    try:
        metadata = await signin.metadata()
        async with signin.client(request) as client:
            token = await client.fetch_token(metadata["token_endpoint"], code=code, code_verifier=verifier)
        claims = await signin.id_tokens.verify(str(token.get("id_token", "")))
    except InvalidToken as exc:
        return await _failed(request, signin, f"invalid ID token ({exc.reason})")
    except Exception as exc:  # the IdP refused the code, or is unreachable
        log.warning("OIDC code exchange failed: %s", type(exc).__name__)
        return await _failed(request, signin, "the authorization code was refused")
    if not secrets.compare_digest(str(claims.raw.get("nonce", "")), nonce):
        return await _failed(request, signin, "the ID token's nonce does not match")
    identity = ExternalIdentity(
        subject=claims.subject,
        username=claims.username,
        email=claims.email,
        groups=group_names(claims.groups),
        source="oidc",
    )
    record = await provision(signin.cp, identity, sign_in=True)
    try:
        principal = principal_for(record, signin.identity, "session")
    except Exception:
        return await _failed(request, signin, "the user is disabled", f"user:{record.name}")
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=signin.session_ttl_s)
    origin = request_origin(request, principal.actor)
    async with signin.cp.engine.begin() as conn:
        await repo.create_session(conn, session_hash(cookie), record.name, csrf, expires, origin.source_ip)
    detail = f"role {principal.role}; groups {', '.join(sorted(principal.groups)) or 'none'}"
    await record_alone(signin.cp.engine, origin, Entry("user.sign_in", "user", record.name, detail=detail))
    response = RedirectResponse(return_to, status_code=303)
    secure, max_age = signin.secure(request), int(signin.session_ttl_s)
    response.set_cookie(SESSION_COOKIE, cookie, max_age, httponly=True, secure=secure, samesite="lax")
    response.set_cookie(CSRF_COOKIE, csrf, max_age, httponly=False, secure=secure, samesite="lax")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    signin = _signin(request)
    token = request.cookies.get(SESSION_COOKIE)
    response = JSONResponse({"detail": "Signed out."})
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    if signin is None or not token:
        return response
    engine = signin.cp.engine
    async with engine.begin() as conn:
        found = await repo.find_session(conn, session_hash(token))
        if found is None:
            return response
        user, csrf = found
        presented = request.headers.get("x-csrf-token", "")
        if not presented or not secrets.compare_digest(presented, csrf):
            return JSONResponse({"detail": "Missing or wrong CSRF token (X-CSRF-Token)."}, status_code=403)
        await repo.delete_session(conn, session_hash(token))
    origin = request_origin(request, f"user:{user}")
    await record_alone(engine, origin, Entry("user.sign_out", "user", user))
    return response
