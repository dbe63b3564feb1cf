"""The gateway's ASGI application: the route table, request ids, errors in each API's own shape."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import orjson

from headwater import request_ids
from headwater.clock import monotonic
from headwater.errors import GatewayError, MethodNotAllowed, NotFound
from headwater.gateway.apis import openai
from headwater.gateway.apis.base import ClientApi
from headwater.gateway.asgi import Headers, Receive, Scope, Send, read_body, send_bytes
from headwater.gateway.auth import Authenticator
from headwater.gateway.proxy import Proxy
from headwater.snapshot import KeyView, ModelView, Snapshot

if TYPE_CHECKING:
    from headwater.gateway.apis.messages import MessagesApi
    from headwater.gateway.apis.responses import ResponsesApi

log = logging.getLogger("headwater.gateway")

#: POST routes served by the proxy (the composition root adds the Responses and Messages APIs).
#: ``GET /v1/models``, stored responses, token counts and the probes are handled here.
OPENAI_ROUTES: dict[str, ClientApi] = {
    "/v1/chat/completions": openai.CHAT,
    "/v1/completions": openai.COMPLETIONS,
    "/v1/embeddings": openai.EMBEDDINGS,
}
RESPONSES_PATH = "/v1/responses"
#: The same upstream failure is logged at most once per this many seconds.
LOG_EVERY_S = 10.0
MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
#: The most bytes a token count request may hold (it carries a whole prompt).
ALLOW_RESPONSE = b"GET, DELETE"
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
        responses: ResponsesApi | None = None,
        messages: MessagesApi | None = None,
        max_body_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self._routes: dict[str, ClientApi] = dict(OPENAI_ROUTES)
        if responses is not None:
            self._routes[RESPONSES_PATH] = responses
        if messages is not None:
            self._routes[MESSAGES_PATH] = messages
        self._responses = responses
        self._messages = messages
        self._max_body = max_body_bytes
        self._logged: dict[tuple[str | None, str], float] = {}
        self._auth = auth or Authenticator()
        self._may_call = may_call
        self._metrics = metrics
        self._proxy = proxy
        self._snapshots = snapshots
        self._ready = ready
        self._not_ready: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = request_id = length = api_key = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-request-id":
                request_id = value
            elif name == b"content-length":
                length = value
            elif name == b"x-api-key":
                api_key = value
        if authorization is None and api_key:  # Anthropic's SDK sends its key so
            authorization = b"Bearer " + api_key
        rid = _request_id(request_id)
        headers: Headers = [(b"x-request-id", rid.encode())]
        path: str = scope["path"]
        method: str = scope["method"]
        endpoint = self._routes.get(path)
        try:
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
            elif path.startswith(RESPONSES_PATH + "/") and self._responses is not None:
                endpoint = self._responses
                await self._stored(
                    scope, send, method, path[len(RESPONSES_PATH) + 1 :], authorization, headers
                )
            elif path == COUNT_TOKENS_PATH and self._messages is not None:
                endpoint = self._messages
                if method != "POST":
                    raise _method_not_allowed(method, path, ALLOW_PROXY)
                declared = int(length) if length is not None and length.isdigit() else None
                await self._count_tokens(scope, receive, send, authorization, declared, headers)
            elif path in PROBES and (path != "/metrics" or self._metrics is not None):
                if method != "GET" and method != "HEAD":
                    raise _method_not_allowed(method, path, ALLOW_PROBE)
                await self._probe(send, path, headers)
            else:
                raise NotFound(f"Invalid URL ({method} {path})", code="unknown_url")
        except GatewayError as error:
            if error.status >= 502:
                self._upstream_failed(error, rid)
            headers.extend(error.headers)
            body = endpoint.error_body(error) if endpoint is not None else error.body()
            await send_bytes(send, error.status, body, headers)
        except Exception:
            log.exception("unhandled error in request %s", rid)
            failed = GatewayError("The gateway failed to handle the request.", code="internal_error")
            body = endpoint.error_body(failed) if endpoint is not None else failed.body()
            await send_bytes(send, 500, body, headers)

    def _upstream_failed(self, error: GatewayError, request_id: str) -> None:
        """Log an upstream's failure (its message names the deployment, never its URL or credential),
        once per 10 s for each kind of failure, so that a dead upstream cannot flood the log."""
        now = monotonic()
        kind = (error.code, error.message[:80])
        if now - self._logged.get(kind, -LOG_EVERY_S) >= LOG_EVERY_S:
            if len(self._logged) > 1000:
                self._logged.clear()
            self._logged[kind] = now
            log.warning("request %s: %s (%s)", request_id, error.message, error.code)

    async def _caller(self, scope: Scope, authorization: bytes | None) -> tuple[Snapshot, KeyView]:
        snapshot = self._snapshots.current
        key = self._auth.cached(authorization, snapshot) or await self._auth.authenticate(
            authorization, snapshot, scope
        )
        return snapshot, key

    async def _stored(
        self, scope: Scope, send: Send, method: str, rest: str, authorization: bytes | None, headers: Headers
    ) -> None:
        """``GET``/``DELETE /v1/responses/{id}``, ``GET /v1/responses/{id}/input_items``."""
        api = self._responses
        assert api is not None
        response_id, _, tail = rest.partition("/")
        if not response_id or tail not in ("", "input_items") or (tail and method != "GET"):
            raise NotFound(f"Invalid URL ({method} {scope['path']})", code="unknown_url")
        if method not in ("GET", "DELETE"):
            raise _method_not_allowed(method, scope["path"], ALLOW_RESPONSE)
        _, key = await self._caller(scope, authorization)
        if tail:
            body = await api.input_items(key.principal, response_id)
        elif method == "GET":
            body = await api.read(key.principal, response_id)
        else:
            body = await api.remove(key.principal, response_id)
        await send_bytes(send, 200, body, headers)

    async def _count_tokens(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        authorization: bytes | None,
        declared: int | None,
        headers: Headers,
    ) -> None:
        """``POST /v1/messages/count_tokens``: the prompt's tokens, for a model the caller may use."""
        api = self._messages
        assert api is not None
        snapshot, key = await self._caller(scope, authorization)
        raw = await read_body(receive, self._max_body, declared)
        name, tokens = api.count_tokens(raw)
        model = snapshot.models.get(name)
        may_call = self._may_call
        if (
            model is None
            or not model.enabled
            or not key.allows(model.name)
            or (may_call is not None and not may_call(snapshot, key, model))
        ):
            raise NotFound(
                f"The model `{name}` does not exist or you do not have access to it.",
                code="model_not_found",
                param="model",
            )
        await send_bytes(send, 200, orjson.dumps({"input_tokens": tokens}), headers)

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
