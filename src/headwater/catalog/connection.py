"""Trying a deployment's server before registering it: ``GET {base_url}/models``.

``POST /api/v1/models/test-connection`` (admins only) takes what a deployment names (provider,
``base_url``, ``upstream_model``, ``credential_env`` or ``credential``, validated exactly as a
deployment's) and asks the server for its model list, as the console's "Test connection" button
does. The call is bounded like the runtime scrape (:mod:`headwater.catalog.runtime`):
:data:`TIMEOUT_S` for the whole answer, at most :data:`MAX_BODY_BYTES` read (counted while reading,
``identity`` encoding asked for), no redirect followed, no proxy from the environment. The
credential is read from the named variable only when that variable may be a deployment's credential
(:mod:`headwater.catalog.credentials`: anything else is 422, as on a model's create), or opened from
the named stored credential (422 when there is none), and sent as a bearer token to that server alone.

Whatever happens upstream is an answer, never a 5xx: ``ok`` is true when the server answered 200
with OpenAI's list (``{"data": [{"id": ...}]}``); else ``error`` says what went wrong (unreachable,
no answer in time, an HTTP status with the server's own message when it gave one in JSON, not JSON,
not a model list). No error names the URL or holds the credential: it is cut out of any text the
server sends back.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import aiohttp
import orjson

from headwater.catalog.credentials import refusal
from headwater.catalog.schemas import ConnectionResult, ConnectionTest
from headwater.clock import monotonic
from headwater.problems import InvalidProblem

TIMEOUT_S = 5.0
MAX_BODY_BYTES = 1024 * 1024
MAX_MODELS = 100
MAX_MESSAGE_CHARS = 200
REDACTED = "[redacted]"


class _Failed(Exception):
    """The attempt failed; the message is what the caller sees."""


async def try_connection(
    spec: ConnectionTest,
    credential_prefix: str,
    *,
    timeout_s: float = TIMEOUT_S,
    max_body_bytes: int = MAX_BODY_BYTES,
    stored_credential: str | None = None,
) -> ConnectionResult:
    """``stored_credential``: the value of the stored credential ``spec.credential`` names (opened
    by the caller, :func:`headwater.credentials.service.reveal`)."""
    credential = stored_credential or None
    if spec.credential_env is not None:
        why = refusal(spec.credential_env, credential_prefix)
        if why is not None:
            raise InvalidProblem(("body", "credential_env"), why)
        credential = os.environ.get(spec.credential_env) or None
        if credential is None:
            return _failed(None, 0.0, f"{spec.credential_env} is not set in Headwater's environment")
    secrets = [value for value in (credential, spec.base_url.password) if value]
    started = monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            status, body = await _fetch(spec, credential, max_body_bytes)
    except TimeoutError:
        return _failed(None, _since(started), f"no complete answer within {timeout_s:g} s")
    except _Failed as exc:
        return _failed(None, _since(started), str(exc))
    except aiohttp.ClientConnectorError as exc:
        return _failed(None, _since(started), f"unreachable ({_reason(exc)})")
    except (aiohttp.ClientError, ValueError, OSError) as exc:
        return _failed(None, _since(started), f"the request failed ({type(exc).__name__})")
    latency = _since(started)
    if status != 200:
        return _failed(status, latency, _status_error(status, body, secrets))
    try:
        ids = _model_ids(orjson.loads(body))
    except orjson.JSONDecodeError:
        return _failed(status, latency, "the answer is not JSON: is base_url the server's /v1?")
    except _Failed as exc:
        return _failed(status, latency, str(exc))
    return ConnectionResult(
        ok=True,
        status=status,
        latency_ms=latency,
        upstream_model_listed=spec.upstream_model in ids,
        models=ids[:MAX_MODELS],
        error=None,
    )


async def _fetch(spec: ConnectionTest, credential: str | None, max_body_bytes: int) -> tuple[int, bytes]:
    headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
    if credential and spec.base_url.username is None:  # a URL's own user:password is its credential
        headers["Authorization"] = f"Bearer {credential}"
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector, auto_decompress=False) as session,
        session.get(spec.url() + "/models", headers=headers, allow_redirects=False) as response,
    ):
        if response.headers.get("Content-Encoding", "identity").lower() != "identity":
            raise _Failed("a compressed answer, though identity was asked for")
        declared = response.content_length
        if declared is not None and declared > max_body_bytes:
            raise _Failed(f"the answer is larger than {max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > max_body_bytes:
                raise _Failed(f"the answer is larger than {max_body_bytes} bytes")
            chunks.append(chunk)
        return response.status, b"".join(chunks)


def _reason(exc: aiohttp.ClientConnectorError) -> str:
    """Why a connection failed, in words that never name the address."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "the server's TLS certificate is not trusted"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "the TLS handshake failed"
    if isinstance(exc.os_error, socket.gaierror):
        return "the host name does not resolve"
    code = exc.os_error.errno
    return os.strerror(code).lower() if code and code > 0 else "connection failed"


def _model_ids(document: Any) -> list[str]:
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        raise _Failed('the answer is not a model list (no "data" list): is base_url the server\'s /v1?')
    return [item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]


def _status_error(status: int, body: bytes, secrets: list[str]) -> str:
    error = f"HTTP {status}"
    if 300 <= status < 400:
        return f"{error}: a redirect (not followed)"
    message = _message(body)
    if message:
        for secret in secrets:
            message = message.replace(secret, REDACTED)
        message = " ".join(message.split())[:MAX_MESSAGE_CHARS]
        if message.isprintable():
            error = f"{error}: {message}"
    return error


def _message(body: bytes) -> str | None:
    """The message of an error answered in JSON (OpenAI's ``error.message``, ``message``, ``detail``)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    error = document.get("error")
    nested = error.get("message") if isinstance(error, dict) else error
    for found in (nested, document.get("message"), document.get("detail")):
        if isinstance(found, str) and found.strip():
            return found
    return None


def _since(started: float) -> float:
    return round((monotonic() - started) * 1000, 1)


def _failed(status: int | None, latency_ms: float, error: str) -> ConnectionResult:
    return ConnectionResult(
        ok=False, status=status, latency_ms=latency_ms, upstream_model_listed=None, models=[], error=error
    )
