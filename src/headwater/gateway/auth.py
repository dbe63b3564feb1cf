"""Who is calling: an API key, an OIDC access token or a trusted proxy's headers → a :class:`KeyView`.

Every credential ends as a key view, so that policies, limits and usage attribution treat them
alike: an API key is its own view from the snapshot; an OIDC access token or a forwarded user
becomes a view owned by ``user:NAME`` whose ``groups`` come with the credential. Nothing here
touches the database: names, disabled users and groups come from the snapshot.

* ``Authorization: Bearer hwk_…``: the key's id is embedded, so one dictionary lookup finds its
  view; the SHA-256 of the presented key is compared in constant time with the current hash, and,
  after a rotation, with the previous one until its grace period ends.
* ``Authorization: Bearer <JWT>`` (when an issuer is configured): verified by the
  :class:`~headwater.identity.jwt_verifier.JwtVerifier` (signature, ``iss``, ``aud``, ``exp``,
  ``nbf``). The user is the one already linked to the token's ``sub``, else the name sign-in would
  give it (see :mod:`headwater.identity.provisioning`: never an existing user's name, except a declared
  user linked by a verified email when that is allowed). Groups: the token's, plus the user's local
  ones.
* No ``Authorization`` header, from a trusted proxy (``HEADWATER_TRUSTED_PROXIES``): the user (and
  groups) named by ``HEADWATER_TRUSTED_HEADERS``. From anywhere else those headers are ignored.

A verified credential is remembered per snapshot: the next call with the same header skips parsing,
hashing and signature checks until the snapshot changes or the credential expires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from headwater.clock import epoch
from headwater.errors import GatewayError, Unauthorized
from headwater.gateway.asgi import Scope
from headwater.identity.jwt_verifier import InvalidToken, JwtVerifier, TokenClaims
from headwater.identity.principal import (
    group_names,
    linkable_email,
    name_for_another_subject,
    user_name_for,
)
from headwater.identity.trusted import TrustedHeaders
from headwater.keys.secret import PREFIX, matches, parse_key_id
from headwater.snapshot import KeyView, Snapshot
from headwater.usage.events import HEADER_KEY_ID, TOKEN_KEY_ID

_INVALID = "Incorrect API key provided. You can create and manage keys with `headwater keys`."
_MISSING = "You didn't provide an API key. Send it as `Authorization: Bearer <key>`."
_FOREVER = float("inf")
_CACHE_MAX = 100_000


class IdentityUnavailable(GatewayError):
    """The identity provider's signing keys cannot be fetched: not the caller's fault."""

    status = 503
    type = "api_error"


class Authenticator:
    def __init__(
        self,
        verifier: JwtVerifier | None = None,
        trusted: TrustedHeaders | None = None,
        first_seen: Callable[[TokenClaims], None] | None = None,
        *,
        link_verified_email: bool = False,
    ) -> None:
        """``first_seen`` is told of token users the directory does not know yet (it must not block)."""
        self._verifier = verifier
        self._link_email = link_verified_email
        self._first_seen = first_seen
        self._trusted = trusted if trusted is not None and trusted.enabled else None
        #: Authorization header → (the snapshot it was verified against, its view, valid until).
        self._verified: dict[bytes, tuple[Snapshot, KeyView, float]] = {}

    def cached(self, authorization: bytes | None, snapshot: Snapshot) -> KeyView | None:
        """The fast path: the view of a credential already verified against this very snapshot."""
        if authorization is not None:
            entry = self._verified.get(authorization)
            if entry is not None and entry[0] is snapshot and entry[2] > epoch():
                return entry[1]
        return None

    async def authenticate(self, authorization: bytes | None, snapshot: Snapshot, scope: Scope) -> KeyView:
        """The caller's view, or :class:`Unauthorized` (401 in OpenAI's shape)."""
        if not authorization:
            return self._forwarded(scope, snapshot)
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Use `Authorization: Bearer <key>`.", code="invalid_authorization_header")
        verifier = self._verifier
        if verifier is not None and not token.startswith(PREFIX) and verifier.looks_like_jwt(token):
            view, until = await self._token(verifier, token, snapshot)
        else:
            view, until = self._key(token, snapshot)
        verified = self._verified
        if len(verified) >= _CACHE_MAX:
            verified.clear()
        verified[authorization] = (snapshot, view, until)
        return view

    # ---- API keys -------------------------------------------------------------------------------
    def _key(self, token: str, snapshot: Snapshot) -> tuple[KeyView, float]:
        key_id = parse_key_id(token)
        view = snapshot.keys.get(key_id) if key_id else None
        if view is None:
            raise Unauthorized(_INVALID, code="invalid_api_key")
        now = epoch()
        until = view.expires_at if view.expires_at is not None else _FOREVER
        if not matches(token, view.hash):
            previous, grace = view.previous_hash, view.previous_until
            if previous is None or grace is None or not matches(token, previous):
                raise Unauthorized(_INVALID, code="invalid_api_key")
            if grace <= now:
                raise Unauthorized(
                    "This API key's secret was replaced (rotated) and its grace period is over; "
                    "use the new secret.",
                    code="key_rotated",
                )
            until = min(until, grace)
        if view.status != "active":
            raise Unauthorized(f"This API key is {view.status}.", code=f"key_{view.status}")
        if until <= now:
            raise Unauthorized("This API key has expired.", code="key_expired")
        if view.owner is not None and view.owner in snapshot.disabled:
            raise _owner_disabled(view.owner)
        return view, until

    # ---- OIDC access tokens ---------------------------------------------------------------------
    async def _token(self, verifier: JwtVerifier, token: str, snapshot: Snapshot) -> tuple[KeyView, float]:
        try:
            claims = await verifier.verify(token)
        except InvalidToken as exc:
            if exc.reason == "jwks_unavailable":
                raise IdentityUnavailable(
                    str(exc), code="identity_provider_unavailable", headers=((b"retry-after", b"5"),)
                ) from None
            code = "access_token_expired" if exc.reason == "expired" else "invalid_access_token"
            raise Unauthorized(str(exc), code=code) from None
        name = _user_name(claims, snapshot, self._link_email)
        if self._first_seen is not None and claims.subject not in snapshot.subjects:
            self._first_seen(claims)
        view = self._user_view(TOKEN_KEY_ID, "OIDC access token", name, claims.groups, snapshot)
        return view, claims.expires_at

    # ---- trusted headers ------------------------------------------------------------------------
    def _forwarded(self, scope: Scope, snapshot: Snapshot) -> KeyView:
        trusted = self._trusted
        if trusted is not None:
            client = scope.get("client")
            identity = trusted.identify(scope["headers"], client[0] if client else None)
            if identity is not None:
                try:
                    name = user_name_for(identity.user, None, "")
                except ValueError:
                    raise Unauthorized(
                        "The forwarded user header names no valid user.", code="invalid_forwarded_user"
                    ) from None
                return self._user_view(HEADER_KEY_ID, "trusted headers", name, identity.groups, snapshot)
        raise Unauthorized(_MISSING, code="missing_api_key")

    def _user_view(
        self, key_id: str, label: str, name: str, groups: Iterable[str] | None, snapshot: Snapshot
    ) -> KeyView:
        """A user calling without a key: refused when disabled; groups asserted plus local ones."""
        principal = f"user:{name}"
        if principal in snapshot.disabled:
            raise _owner_disabled(principal)
        merged: tuple[str, ...] | None = None
        if groups is not None:
            external = snapshot.external_groups
            local = [g for g in snapshot.memberships.get(principal, ()) if g not in external]
            merged = tuple(sorted({*group_names(groups), *local}))
        return KeyView(
            id=key_id,
            hash="",
            name=label,
            owner=principal,
            models=None,
            status="active",
            expires_at=None,
            groups=merged,
        )


def _user_name(claims: TokenClaims, snapshot: Snapshot, link_verified_email: bool) -> str:
    """The Headwater user of a token: as sign-in names it (see identity.provisioning)."""
    known = snapshot.subjects.get(claims.subject)
    if known is not None:
        return known
    email = linkable_email(claims.email, claims.email_verified, link_verified_email)
    if email is not None:
        declared = snapshot.unlinked_emails.get(email)
        if declared is not None:
            return declared
    try:
        name = user_name_for(claims.username, claims.email, claims.subject)
    except ValueError:
        raise Unauthorized("The access token names no usable user.", code="invalid_access_token") from None
    if name in snapshot.user_names:  # declared, or another subject's: never taken over
        name = name_for_another_subject(name, claims.subject)
    return name


def _owner_disabled(owner: str) -> Unauthorized:
    kind, _, name = owner.partition(":")
    if kind == "serviceaccount":
        return Unauthorized(f"The service account {name} is disabled.", code="service_account_disabled")
    return Unauthorized(f"The user {name} is disabled.", code="user_disabled")
