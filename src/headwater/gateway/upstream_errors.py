"""What an upstream's non-2xx answer becomes for the caller.

- 3xx: never followed (``Upstream.post`` sets ``allow_redirects=False``): 502 ``upstream_redirect``;
- 401, 403, 407: the deployment's credential (or the upstream's proxy) was refused. That is not the
  caller's fault and must not read as if their own key were wrong: 502 ``upstream_auth_failed``, with
  a message that names the deployment and none of the upstream's words;
- other 4xx and 429: relayed with their status (and a sane ``Retry-After``), the error object rebuilt
  from the upstream's ``message``, ``type``, ``param`` and ``code``, each scrubbed (:mod:`scrub`);
  a body that is not OpenAI's error shape becomes one, carrying its scrubbed text;
- 5xx: 502 ``bad_upstream_response`` naming the status and the scrubbed upstream message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from headwater.errors import GatewayError, UpstreamUnavailable, error_body
from headwater.gateway.providers.base import ErrorInfo
from headwater.gateway.scrub import scrub
from headwater.gateway.upstream import broken_error
from headwater.snapshot import DeploymentView

AUTH_FAILURES = frozenset({401, 403, 407})
_RETRY_AFTER = re.compile(r"[0-9]{1,10}|[A-Za-z]{3}, [0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9:]{8} GMT")
_SHORT = 100


def refusal(status: int, deployment: DeploymentView) -> GatewayError | None:
    """The error for a status whose body is not worth reading (a redirect, a refused credential)."""
    if 300 <= status < 400:
        return UpstreamUnavailable(
            f"The upstream for deployment {deployment.id} answered with a redirect (HTTP {status}); "
            "redirects are not followed.",
            code="upstream_redirect",
        )
    if status in AUTH_FAILURES:
        return UpstreamUnavailable(
            f"The upstream for deployment {deployment.id} refused the gateway's credential (HTTP {status}); "
            "an administrator must check the deployment.",
            code="upstream_auth_failed",
        )
    return None


def server_error(
    status: int, raw: bytes, deployment: DeploymentView, public_model: str, info: ErrorInfo | None = None
) -> GatewayError:
    fields = _error_fields(raw)
    detail = info.message if info is not None else fields.get("message") if fields else None
    text = scrub(str(detail) if detail else raw.decode("utf-8", "replace")[:500], deployment, public_model)
    return broken_error(deployment, f"HTTP {status}: {text}" if text.strip() else f"HTTP {status}")


def client_error_body(raw: bytes, deployment: DeploymentView, public_model: str) -> bytes:
    """OpenAI's error object for a relayed 4xx: the upstream's fields, scrubbed."""
    fields = _error_fields(raw)
    if fields is None:
        text = scrub(raw.decode("utf-8", "replace")[:500], deployment, public_model) or "no details"
        return error_body(
            f"The upstream rejected the request: {text}", "invalid_request_error", "upstream_error"
        )

    def short(name: str) -> str | None:
        value = fields.get(name)
        if value is None or isinstance(value, dict | list):
            return None
        return scrub(str(value), deployment, public_model)[:_SHORT]

    message = scrub(str(fields.get("message") or ""), deployment, public_model) or "The upstream rejected it."
    return error_body(message, short("type") or "invalid_request_error", short("code"), short("param"))


def relayed(
    info: ErrorInfo | None, raw: bytes, deployment: DeploymentView, public_model: str
) -> tuple[str, str | None, str | None, str | None]:
    """A relayed 4xx's message, type, code and param, each scrubbed: the provider's reading of the
    error (``info``), else the body's own text."""
    if info is None:
        text = scrub(raw.decode("utf-8", "replace")[:500], deployment, public_model) or "no details"
        return f"The upstream rejected the request: {text}", "invalid_request_error", "upstream_error", None

    def short(value: str | None) -> str | None:
        return None if value is None else scrub(value, deployment, public_model)[:_SHORT]

    message = scrub(info.message, deployment, public_model) or "The upstream rejected it."
    return message, short(info.type), short(info.code), short(info.param)


def retry_after(value: str | None) -> bytes | None:
    """An upstream's ``Retry-After``, if it is seconds or an HTTP date (nothing else is relayed)."""
    if value and _RETRY_AFTER.fullmatch(value.strip()):
        return value.strip().encode("ascii")
    return None


def _error_fields(raw: bytes) -> dict[str, Any] | None:
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        fields: dict[str, Any] = data["error"]
        return fields
    return None


def answer(
    status: int,
    raw: bytes,
    upstream_headers: Mapping[str, str],
    info: ErrorInfo | None,
    deployment: DeploymentView,
    public_model: str,
) -> tuple[int, tuple[str, str | None, str | None, str | None], bytes | None]:
    """A read error answer (``info``: the provider's reading of it) as the status, the scrubbed
    message, type, code and param, and the ``Retry-After`` the client gets; raises the gateway's
    error for what is not the caller's to see (5xx, a refused credential)."""
    status = info.status if info is not None and info.status else status
    if status >= 500:
        raise server_error(status, raw, deployment, public_model, info)
    if status in AUTH_FAILURES:
        raise refusal(status, deployment) or broken_error(deployment, "refused")
    wait = retry_after(upstream_headers.get("retry-after"))
    return status, relayed(info, raw, deployment, public_model), wait
