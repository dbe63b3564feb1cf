"""The gateway's ASGI application: the route table, request ids, errors in OpenAI's shape."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import orjson

from headwater import request_ids
from headwater.clock import monotonic
from headwater.errors import GatewayError, MethodNotAllowed, NotFound, error_body
from headwater.gateway import bodies
from headwater.gateway.asgi import Headers, Receive, Scope, Send, send_bytes, send_error
from headwater.gateway.auth import Authenticator
from headwater.gateway.proxy import Proxy
from headwater.snapshot import KeyView, ModelView, Snapshot

log = logging.getLogger("headwater.gateway")

#: POST routes served by the proxy. ``GET /v1/models`` and the probes are handled here.
PROXY_ROUTES: dict[str, bodies.Endpoint] = {
    "/v1/chat/completions": bodies.CHAT,
    "/v1/completions": bodies.COMPLETIONS,
    "/v1/embeddings": bodies.EMBEDDINGS,
}
METRICS_CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
#: What a 405 names in ``Allow``, per kind of route.
ALLOW_PROXY = b"POST"
ALLOW_MODELS = b"GET"
ALLOW_PROBE = b"GET, HEAD"
READY = b'{"status":"ready"}'


_PROCESS_PREFIX = os.urandom(8).hex()
_SEQUENCE = itertools.count(1)

#: Whether a key may call a model (its owner's policies grant it): what ``/v1/models`` lists.
MayCall = Callable[[Snapshot, KeyView, ModelView], bool]


def _request_id(value: bytes | None) -> str:
    """The client's id when it sent a sane one; else 32 hex digits unique to this process and call."""
    return request_ids.sane(value) or f"{_PROCESS_PREFIX}{next(_SEQUENCE):016x}"


class SnapshotHolder(Protocol):
    current: Snapshot


class Gateway:
    def __init__(
        self,
        *,
        proxy: Proxy,
        snapshots: SnapshotHolder,
        ready: Callable[[], Awaitable[Sequence[str]]],
        auth: Authenticator | None = None,
        metrics: Callable[[], bytes] | None = None,
        may_call: MayCall | None = None,
    ) -> None:
        self._auth = auth or Authenticator()
        self._may_call = may_call
        self._metrics = metrics
        self._proxy = proxy
        self._snapshots = snapshots
        self._ready = ready
        self._not_ready: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = request_id = length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-request-id":
                request_id = value
            elif name == b"content-length":
                length = value
        rid = _request_id(request_id)
        headers: Headers = [(b"x-request-id", rid.encode())]
        path: str = scope["path"]
        method: str = scope["method"]
        try:
            endpoint = PROXY_ROUTES.get(path)
            if endpoint is not None:
                if method != "POST":
                    raise _method_not_allowed(method, path, ALLOW_PROXY)
                started = monotonic()
                snapshot = self._snapshots.current
                key = self._auth.cached(authorization, snapshot) or await self._auth.authenticate(
                    authorization, snapshot, scope
                )
                declared = int(length) if length is not None and length.isdigit() else None
                await self._proxy.handle(
                    endpoint,
                    receive,
                    send,
                    snapshot=snapshot,
                    key=key,
                    content_length=declared,
                    request_id=rid,
                    headers=headers,
                    started=started,
                )
            elif path == "/v1/models" or path.startswith("/v1/models/"):
                if method != "GET":
                    raise _method_not_allowed(method, path, ALLOW_MODELS)
                snapshot = self._snapshots.current
                key = self._auth.cached(authorization, snapshot) or await self._auth.authenticate(
                    authorization, snapshot, scope
                )
                await self._models(send, snapshot, key, path[len("/v1/models/") :], headers)
            elif path in PROBES and (path != "/metrics" or self._metrics is not None):
                if method != "GET" and method != "HEAD":
                    raise _method_not_allowed(method, path, ALLOW_PROBE)
                await self._probe(send, path, headers)
            else:
                raise NotFound(f"Invalid URL ({method} {path})", code="unknown_url")
        except GatewayError as error:
            await send_error(send, error, headers)
        except Exception:
            log.exception("unhandled error in request %s", rid)
            body = error_body("The gateway failed to handle the request.", "api_error", "internal_error")
            await send_bytes(send, 500, body, headers)

    async def _probe(self, send: Send, path: str, headers: Headers) -> None:
        if path == "/healthz":
            await send_bytes(send, 200, b'{"status":"ok"}', headers)
        elif path == "/metrics" and self._metrics is not None:
            await send_bytes(send, 200, self._metrics(), headers, METRICS_CONTENT_TYPE)
        else:
            loaded = self._snapshots.current.revision >= 0
            problems = list(await self._ready()) if loaded else ["no configuration loaded yet"]
            if problems != self._not_ready:  # said once, when it changes
                if problems:
                    log.warning("not ready: %s", "; ".join(problems))
                elif self._not_ready:
                    log.info("ready again")
                self._not_ready = problems
            body = orjson.dumps({"status": "not ready", "problems": problems}) if problems else READY
            await send_bytes(send, 503 if problems else 200, body, headers)

    async def _models(
        self, send: Send, snapshot: Snapshot, key: KeyView, name: str, headers: Headers
    ) -> None:
        may_call = self._may_call
        visible = [
            {"id": model.name, "object": "model", "created": model.created, "owned_by": "headwater"}
            for model in snapshot.models.values()
            if model.enabled
            and key.allows(model.name)
            and (may_call is None or may_call(snapshot, key, model))
        ]
        if not name:
            await send_bytes(send, 200, orjson.dumps({"object": "list", "data": visible}), headers)
            return
        for entry in visible:
            if entry["id"] == name:
                await send_bytes(send, 200, orjson.dumps(entry), headers)
                return
        raise NotFound(
            f"The model `{name}` does not exist or you do not have access to it.", code="model_not_found"
        )


def _method_not_allowed(method: str, path: str, allow: bytes) -> GatewayError:
    """405, with ``Allow`` naming the methods the route takes (RFC 9110 asks for it)."""
    return MethodNotAllowed(
        f"Method {method} is not allowed on {path}.", code="method_not_allowed", headers=((b"allow", allow),)
    )
