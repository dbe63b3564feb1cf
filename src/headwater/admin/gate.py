"""The admin API's gate: who is calling, and how much they may send, before any body is read.

A pure ASGI middleware in front of every admin route. FastAPI reads and parses a request's body
before it runs any dependency, so authentication done only by a dependency lets an anonymous
caller make the process buffer (and parse) whatever it sends. The gate, in this order:

1. **authenticates** every call under ``/api/v1/`` (except the OpenAPI document and ``/info``) with
   :func:`headwater.admin.auth.authenticate`, which needs only headers, cookies and the client
   address (and serves an admin's ``X-Headwater-View-As`` call as that user, read-only). A caller
   who is not authenticated gets 401 ``{"detail": ...}`` (no validation details: the body was
   never looked at) and nothing of the body is read. The principal is handed to the
   ``caller`` dependency in the request's state, so each request authenticates once;
2. **caps the body** at ``max_body_bytes`` (``HEADWATER_ADMIN_MAX_BODY_BYTES``): a declared
   ``Content-Length`` past it is 413 at once; a body without one is counted as it is read and
   refused with 413 when it passes the cap;
3. **times the body**: more than ``body_timeout_s`` (``HEADWATER_BODY_TIMEOUT_S``) between two
   parts of a body (or before the first) is 408;
4. **refuses NUL characters** in the path, the query and JSON bodies (422 naming where, see
   :mod:`headwater.admin.nul_text`). To look into a body, the gate reads a POST, PUT or PATCH under
   ``/api/v1/`` whole (within the two bounds above) and replays it to the route.

The caps apply to every admin path, sign-in included. 413 and 408 close the connection, since the
rest of the body is never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater.admin import nul_text
from headwater.admin.auth import IdentityConfig, authenticate
from headwater.control import ControlPlane
from headwater.serving.body import BodyTimeout, BodyTimer

PROTECTED_PREFIX = "/api/v1/"
#: Public: no authentication (and no database work behind them).
OPEN_PATHS = frozenset({"/api/v1/openapi.json", "/api/v1/info"})
PRINCIPAL_STATE = "principal"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int = 16 * 1024 * 1024
    timeout_s: float = 30.0


def _too_large(limits: BodyLimits) -> HTTPException:
    return HTTPException(
        413,
        f"The request body is larger than {limits.max_bytes} bytes (HEADWATER_ADMIN_MAX_BODY_BYTES).",
        headers={"Connection": "close"},
    )


def _too_slow(limits: BodyLimits) -> HTTPException:
    return HTTPException(
        408,
        f"The request body stalled: no data for {limits.timeout_s:g} s (HEADWATER_BODY_TIMEOUT_S).",
        headers={"Connection": "close"},
    )


async def _answer(send: Send, problem: HTTPException) -> None:
    body = orjson.dumps({"detail": problem.detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (problem.headers or {}).items()
    ]
    await send({"type": "http.response.start", "status": problem.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _invalid(loc: Sequence[str | int]) -> HTTPException:
    detail = [{"loc": list(loc), "msg": nul_text.MESSAGE, "type": "value_error"}]
    return HTTPException(422, detail)


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise HTTPException(400, "The client went away before the body was sent.")
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read by the gate, once, then whatever comes next (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class AdminGate:
    def __init__(
        self, app: ASGIApp, *, cp: ControlPlane, identity: IdentityConfig, limits: BodyLimits
    ) -> None:
        self.app = app
        self.cp = cp
        self.identity = identity
        self.limits = limits
        self._timer = BodyTimer(limits.timeout_s)  # the gateway's timer: a watch per wait, no timer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(PROTECTED_PREFIX) and path not in OPEN_PATHS:
            try:
                principal = await authenticate(Request(scope), self.cp, self.identity)
            except HTTPException as refused:
                await _answer(send, refused)
                return
            scope.setdefault("state", {})[PRINCIPAL_STATE] = principal
        declared = _declared_length(scope)
        if declared is not None and declared > self.limits.max_bytes:
            await _answer(send, _too_large(self.limits))
            return
        where = nul_text.in_request_line(scope)
        if where is not None:
            await _answer(send, _invalid(where))
            return
        bounded = self._bounded(receive)
        if path.startswith(PROTECTED_PREFIX) and scope["method"] in BODY_METHODS:
            try:  # read whole (bounded, timed) to look into it, then replayed to the route
                body = await _read_body(bounded)
            except HTTPException as refused:
                await _answer(send, refused)
                return
            where = nul_text.in_json_body(body)
            if where is not None:
                await _answer(send, _invalid(where))
                return
            bounded = _replay(body, bounded)
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded, watch)
        except HTTPException as refused:  # raised by the body's receive outside FastAPI's handling
            if started or refused.status_code not in (408, 413):
                raise
            await _answer(send, refused)

    def _bounded(self, receive: Receive) -> Receive:
        limits = self.limits
        timed = self._timer.bounded(receive)
        received = 0
        complete = False

        async def bounded() -> Message:
            nonlocal received, complete
            if complete:  # after the body only a disconnect can come: wait for it as long as it takes
                return await receive()
            try:
                message = await timed()
            except BodyTimeout:
                raise _too_slow(limits) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limits.max_bytes:
                    raise _too_large(limits)
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        return bounded
