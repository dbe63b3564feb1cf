"""CORS for browser apps on the origins listed in ``HEADWATER_CORS_ORIGINS``.

:class:`Cors` wraps an ASGI application (the gateway for ``/v1/*``, the admin API for ``/api/*``:
:mod:`headwater.main` wraps them only when origins are configured, so an unset setting costs
nothing). For a request whose ``Origin`` is one of the listed origins, exactly as the browser sent
it:

- a **preflight** (``OPTIONS`` with ``Access-Control-Request-Method``) is answered here, 204, before
  the application sees it: a preflight carries no credentials, so it must never reach the gateway's
  key check or the admin gate's authentication. The answer names the origin (never ``*``), the
  methods of the API (:data:`GATEWAY_METHODS`, :data:`ADMIN_METHODS`), the request headers
  browser apps send (:data:`ALLOWED_HEADERS`; for the admin API :data:`ADMIN_HEADERS`; plus any
  ``x-stainless-*`` header the preflight asks for: the OpenAI and Anthropic SDKs add to that
  family from one release to the next) and
  ``Access-Control-Max-Age`` (:data:`MAX_AGE_S`, Chromium's ceiling);
- **every other request** goes to the application, and its response, errors and server-sent-event
  streams included (the headers travel on ``http.response.start``), carries
  ``Access-Control-Allow-Origin``, ``Vary: Origin`` and ``Access-Control-Expose-Headers``
  (:data:`EXPOSED_HEADERS`: the request id, ``Retry-After``, the rate-limit headers). A browser app
  can read a 401 or a 429 only because of them.

A request without ``Origin``, or from any other origin, is handed to the application untouched and
its response gets no CORS header at all; a preflight from another origin is therefore answered as
any ``OPTIONS`` is (the gateway: 405 with ``Allow``; the admin API: 401 before anything else), and
the browser refuses the call. The cost for such a request is one scan of its headers.

No ``Access-Control-Allow-Credentials``: cross-origin callers authenticate with
``Authorization: Bearer`` (an API key, an OIDC access token). The admin API's session cookie stays
with Headwater's own origin: a page elsewhere cannot read the ``hw_csrf`` cookie that
state-changing session calls need, and letting it send the session cookie would only hand it reads
in the signed-in user's name.

Why not Starlette's ``CORSMiddleware``: it answers a preflight from an unlisted origin with 400 and
its ``Access-Control-Allow-Methods`` and ``-Headers``, and puts ``Access-Control-Expose-Headers`` on
responses to any origin, where the contract here is no CORS header for other origins; and the
gateway may not import Starlette. Plain ASGI, no server or framework import.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GATEWAY_METHODS = ("GET", "POST")
ADMIN_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

#: Request headers a browser app may send beyond the CORS-safelisted ones: Headwater's own, and
#: what the OpenAI and Anthropic SDKs send (their ``x-stainless-*`` headers are allowed as asked).
ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "x-request-id",
    "openai-organization",
    "openai-project",
    "openai-beta",
    "idempotency-key",
    "anthropic-version",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
    "x-api-key",
)
#: The admin API's own, beyond those: an admin's read-only view as a user (the console's "View as").
ADMIN_HEADERS = (*ALLOWED_HEADERS, "x-headwater-view-as")
_SDK_HEADER = re.compile(r"x-stainless-[a-z0-9-]{1,64}")
_MAX_SDK_HEADERS = 32

#: Response headers a browser app may read beyond the safelisted ones (Content-Type, ...).
EXPOSED_HEADERS = (
    "x-request-id",
    "retry-after",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
    "x-headwater-limit-warning",
    "content-disposition",
)
MAX_AGE_S = 7200

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*")
_FORM = "scheme://host[:port], e.g. https://app.example.com"


def exact_origin(value: str) -> str:
    """``value`` when it is an origin written as browsers send it in ``Origin``; else ValueError.

    http or https, the host in lower case (international names in punycode, IPv6 in brackets), the
    port only when it is not the scheme's default; no path, trailing slash, query, user or ``*``.
    """
    if "*" in value:
        raise ValueError(f"{value!r}: wildcards are not accepted, list each origin ({_FORM})")
    if value == "null":
        raise ValueError(
            "'null' is what sandboxed pages and files send (any page can be one): list real origins"
        )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an origin ({exc}): {_FORM}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"{value!r} is not an origin: it must start with http:// or https://")
    host = parts.hostname or ""
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{value!r} is not an origin: no path, query or user, only {_FORM}")
    if ":" in host:
        try:
            host = f"[{ipaddress.IPv6Address(host)}]"
        except ValueError:
            raise ValueError(f"{value!r} is not an origin: {host!r} is not an IPv6 address") from None
    elif not _HOST.fullmatch(host):
        raise ValueError(
            f"{value!r} is not an origin: the host must be a DNS name (international names in "
            "punycode, xn--...) or an IP address"
        )
    canonical = f"{scheme}://{host}" + ("" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}")
    if canonical != value:
        raise ValueError(f"{value!r} is not written as browsers send it: write {canonical!r}")
    return value


class Cors:
    """CORS headers for the listed ``origins`` in front of ``app``, whose API uses ``methods`` and
    takes the request ``headers`` (plus the SDKs' ``x-stainless-*`` ones)."""

    def __init__(
        self,
        app: ASGIApp,
        origins: Iterable[str],
        methods: Sequence[str],
        headers: Sequence[str] = ALLOWED_HEADERS,
    ) -> None:
        self.app = app
        self._origins = frozenset(origin.encode("ascii") for origin in origins)
        self._preflight: list[tuple[bytes, bytes]] = [
            (b"access-control-allow-methods", ", ".join(methods).encode()),
            (b"access-control-max-age", str(MAX_AGE_S).encode()),
            (b"vary", b"Origin, Access-Control-Request-Headers"),
        ]
        self._allowed_headers = ", ".join(headers)
        self._actual: list[tuple[bytes, bytes]] = [
            (b"vary", b"Origin"),
            (b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = None
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"origin":
                    origin = value
                    break
        if origin is None or origin not in self._origins:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            asked = _preflight(scope["headers"])
            if asked is not None:
                await self._answer_preflight(send, origin, asked)
                return
        extra = [(b"access-control-allow-origin", origin), *self._actual]

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _answer_preflight(self, send: Send, origin: bytes, asked_headers: bytes) -> None:
        sdk = [
            name
            for name in (part.strip() for part in asked_headers.decode("latin-1").lower().split(","))
            if _SDK_HEADER.fullmatch(name)
        ][:_MAX_SDK_HEADERS]
        allowed = ", ".join([self._allowed_headers, *sdk]).encode()
        headers = [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-headers", allowed),
            *self._preflight,
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _preflight(headers: Iterable[tuple[bytes, bytes]]) -> bytes | None:
    """For a preflight, the headers it asks for (``b""`` for none); None when it is not one."""
    method = False
    asked = b""
    for name, value in headers:
        if name == b"access-control-request-method":
            method = True
        elif name == b"access-control-request-headers":
            asked = value
    return asked if method else None
