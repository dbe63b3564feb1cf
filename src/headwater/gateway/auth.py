"""Who is calling: ``Authorization: Bearer <api key>`` → the key's view in the snapshot."""

from __future__ import annotations

from headwater.clock import epoch
from headwater.errors import Unauthorized
from headwater.keys.secret import matches, parse_key_id
from headwater.snapshot import KeyView, Snapshot

_INVALID = "Incorrect API key provided. You can create and manage keys with `headwater keys`."


#: Keys already verified against a snapshot's view: the next call of the same key skips parsing and
#: hashing. An entry counts only while the snapshot still holds that very view object, so a revoked
#: or changed key is checked afresh as soon as the new snapshot is in.
_verified: dict[bytes, KeyView] = {}
_VERIFIED_MAX = 100_000


def authenticate(authorization: bytes | None, snapshot: Snapshot) -> KeyView:
    if authorization is not None:
        view = _verified.get(authorization)
        if (
            view is not None
            and snapshot.keys.get(view.id) is view
            and view.status == "active"
            and (view.expires_at is None or view.expires_at > epoch())
        ):
            return view
    view = _authenticate(authorization, snapshot)
    if authorization is not None:
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[authorization] = view
    return view


def _authenticate(authorization: bytes | None, snapshot: Snapshot) -> KeyView:
    if not authorization:
        raise Unauthorized(
            "You didn't provide an API key. Send it as `Authorization: Bearer <key>`.", code="missing_api_key"
        )
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Use `Authorization: Bearer <key>`.", code="invalid_authorization_header")
    token = token.strip()
    key_id = parse_key_id(token)
    view = snapshot.keys.get(key_id) if key_id else None
    if view is None or not matches(token, view.hash):
        raise Unauthorized(_INVALID, code="invalid_api_key")
    if view.status != "active":
        raise Unauthorized(f"This API key is {view.status}.", code=f"key_{view.status}")
    if view.expires_at is not None and view.expires_at <= epoch():
        raise Unauthorized("This API key has expired.", code="key_expired")
    return view
