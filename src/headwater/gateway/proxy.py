"""The proxy handler behind chat completions, completions and embeddings.

admit (auth, by the app → body → model → scope) → route (deployment, failover when unreachable) → relay
(bytes as they come) → account (one usage event, success or failure, written in batches).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import orjson

from headwater.errors import BadRequest, Forbidden, GatewayError, NotFound, error_body
from headwater.gateway import requests, sse
from headwater.gateway.accounting import Call, completion_text_tokens
from headwater.gateway.admission import Admission
from headwater.gateway.http import EVENT_STREAM, JSON, Headers, Receive, Send, read_body, send_bytes
from headwater.gateway.router import attempts
from headwater.gateway.upstream import Unreachable, Upstream, broken_error, read_all
from headwater.snapshot import KeyView, Snapshot
from headwater.usage.events import UsageSink


class Proxy:
    def __init__(
        self,
        *,
        upstream: Upstream,
        usage: UsageSink,
        admission: Admission,
        max_body_bytes: int,
    ) -> None:
        self._admission = admission
        self._upstream = upstream
        self._usage = usage
        self._max_body = max_body_bytes

    async def handle(
        self,
        endpoint: requests.Endpoint,
        receive: Receive,
        send: Send,
        *,
        snapshot: Snapshot,
        key: KeyView,
        content_length: int | None,
        request_id: str,
        headers: Headers,
        started: float,
    ) -> None:
        """Serve an authenticated call (``key``, checked against ``snapshot``)."""
        raw = await read_body(receive, self._max_body, content_length)
        payload = requests.parse(raw, endpoint)
        public_name: str = payload["model"]
        model = snapshot.models.get(public_name)
        if model is None or not model.enabled:
            raise NotFound(
                f"The model `{public_name}` does not exist or you do not have access to it.",
                code="model_not_found",
                param="model",
            )
        if not key.allows(model.name):
            raise Forbidden(
                f"This API key may not use the model `{model.name}`.", code="model_not_allowed", param="model"
            )
        if model.kind not in endpoint.kinds:
            raise BadRequest(
                f"The model `{model.name}` is a {model.kind} model; it is not served on this endpoint.",
                code="model_not_supported",
                param="model",
            )
        ticket = await self._admission.admit(snapshot, key, model, payload, request_id, headers)
        stream = payload.get("stream") is True
        call = Call(request_id, key, model, endpoint.name, payload, started, stream)
        call.ticket = ticket
        try:
            await self._forward(call, raw, endpoint.upstream_path, receive, send, headers)
        except GatewayError as error:
            await self._finish(call, status="error", http_status=error.status, usage=None)
            raise

    async def _finish(
        self,
        call: Call,
        *,
        status: str,
        http_status: int,
        usage: dict[str, Any] | None,
        completion_estimate: int = 0,
        first_token_at: float | None = None,
    ) -> None:
        """Account for a finished call: one usage event, and the real usage settles the reservation."""
        event = call.record(
            self._usage,
            status=status,
            http_status=http_status,
            usage=usage,
            completion_estimate=completion_estimate,
            first_token_at=first_token_at,
        )
        if call.ticket is not None:
            await self._admission.settle(
                call.ticket, event.prompt_tokens, event.completion_tokens, event.cost
            )

    async def _forward(
        self, call: Call, raw: bytes, path: str, receive: Receive, send: Send, headers: Headers
    ) -> None:
        payload = call.payload
        client_options = payload.get("stream_options")
        wants_usage = bool(client_options.get("include_usage")) if isinstance(client_options, dict) else False
        rewrite = call.streamed and not wants_usage
        if rewrite:
            payload = {**payload, "stream_options": {**(client_options or {}), "include_usage": True}}
        failure: GatewayError | None = None
        for deployment in attempts(call.model):
            if rewrite or deployment.upstream_model != call.model.name:
                body = orjson.dumps({**payload, "model": deployment.upstream_model})
            else:  # nothing to change: the client's bytes go upstream as they came
                body = raw
            try:
                response = await self._upstream.post(deployment, path, body, call.request_id)
            except Unreachable as error:
                failure = error
                continue
            call.deployment = deployment
            break
        else:
            assert failure is not None
            raise failure

        if response.status >= 400:
            await self._upstream_error(call, response, send, headers)
        elif call.streamed and response.content_type == EVENT_STREAM.decode():
            await self._stream(call, response, receive, send, headers, hide_usage=not wants_usage)
        else:
            await self._complete(call, response, send, headers)

    async def _complete(
        self, call: Call, response: aiohttp.ClientResponse, send: Send, headers: Headers
    ) -> None:
        assert call.deployment is not None
        raw = await read_all(response, call.deployment)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise broken_error(call.deployment, "its response is not valid JSON") from None
        if not isinstance(data, dict):
            raise broken_error(call.deployment, "its response is not a JSON object")
        usage = data.get("usage")
        if call.deployment.upstream_model != call.model.name and "model" in data:
            data["model"] = call.model.name
            raw = orjson.dumps(data)
        await send_bytes(send, 200, raw, headers)
        has_usage = isinstance(usage, dict)
        await self._finish(
            call,
            status="success",
            http_status=200,
            usage=usage if has_usage else None,
            completion_estimate=0 if has_usage else completion_text_tokens(data),
        )

    async def _stream(
        self,
        call: Call,
        response: aiohttp.ClientResponse,
        receive: Receive,
        send: Send,
        headers: Headers,
        *,
        hide_usage: bool,
    ) -> None:
        assert call.deployment is not None
        headers.append((b"content-type", b"text/event-stream; charset=utf-8"))
        headers.append((b"cache-control", b"no-cache"))
        headers.append((b"x-accel-buffering", b"no"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        state = sse.StreamState()
        rename = sse.rename_pairs(call.deployment.upstream_model, call.model.name)
        relay = asyncio.ensure_future(sse.relay(response, send, state, hide_usage=hide_usage, rename=rename))
        watcher = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait((relay, watcher), return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancelled = not relay.done()
            for task in (relay, watcher):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            if cancelled:
                response.close()
            status = "cancelled" if cancelled else ("error" if state.failure else "success")
            await self._finish(
                call,
                status=status,
                http_status=499 if cancelled else (502 if state.failure else 200),
                usage=state.usage,
                completion_estimate=max(state.events - 1, 0),
                first_token_at=state.first_token_at,
            )

    async def _upstream_error(
        self, call: Call, response: aiohttp.ClientResponse, send: Send, headers: Headers
    ) -> None:
        assert call.deployment is not None
        raw = await read_all(response, call.deployment)
        if response.status >= 500:
            detail = _error_message(raw) or f"HTTP {response.status}"
            raise broken_error(call.deployment, f"HTTP {response.status}: {detail}"[:500])
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            headers.append((b"retry-after", retry_after.encode("latin-1")))
        if _error_message(raw) is None:
            text = raw.decode("utf-8", "replace")[:500] or f"HTTP {response.status}"
            raw = error_body(
                f"The upstream rejected the request: {text}", "invalid_request_error", "upstream_error"
            )
        await send_bytes(send, response.status, raw, headers, JSON)
        await self._finish(call, status="error", http_status=response.status, usage=None)


def _error_message(raw: bytes) -> str | None:
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        message = data["error"].get("message")
        return str(message) if message is not None else ""
    return None


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
