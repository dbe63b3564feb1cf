"""The proxy handler behind chat completions, completions and embeddings.

admit (auth, by the app → body → model → scope) → route (deployment, failover when unreachable) → relay
(bytes as they come) → account (one usage event, success or failure, written in batches).

Bounds on what an upstream may do (each in docs/architecture.md):

- a whole call has a deadline (the deployment's ``deadline``, else ``HEADWATER_UPSTREAM_DEADLINE_S``),
  counted from the moment it is sent: past it a call whose response has not started is 504
  ``upstream_deadline_exceeded``, and a stream is cut;
- a non-streamed body is read up to ``HEADWATER_MAX_RESPONSE_BYTES``, an error body up to 1 MiB
  (502 ``upstream_response_too_large``) and never re-serialised: the public model name is put in
  by byte replacement, as in streams;
- a stream event may not exceed ``HEADWATER_MAX_STREAM_EVENT_BYTES`` (:mod:`sse`);
- a stream cut for any reason (deadline, break, event too large, the server shutting down past its
  graceful period) ends with a terminal error event, then the end of the body; the upstream
  connection is closed, never pooled;
- redirects, refused credentials and the upstream's words in errors: :mod:`upstream_errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import orjson

from headwater.errors import BadRequest, Forbidden, GatewayError, NotFound
from headwater.gateway import bodies, sse, upstream_errors
from headwater.gateway.accounting import LARGE_BODY, Call, completion_text_tokens, trusted
from headwater.gateway.admission import Admission
from headwater.gateway.asgi import EVENT_STREAM, JSON, Headers, Receive, Send, read_body, send_bytes
from headwater.gateway.router import attempts
from headwater.gateway.upstream import (
    Unreachable,
    Upstream,
    broken_error,
    deadline_error,
    read_capped,
)
from headwater.serving.body import BodyTimer
from headwater.serving.deadlines import Deadlines
from headwater.snapshot import KeyView, Snapshot
from headwater.usage.events import UsageEvent, UsageSink

#: How long the terminal event of a cut stream may wait for a client that does not read.
FINAL_SEND_S = 5.0
#: The largest upstream error body read (or HEADWATER_MAX_RESPONSE_BYTES when that is smaller).
MAX_ERROR_BYTES = 1024 * 1024
#: Deadlines fire up to this much late (see headwater.serving.deadlines).
DEADLINE_RESOLUTION_S = 0.25


class Proxy:
    def __init__(
        self,
        *,
        upstream: Upstream,
        usage: UsageSink,
        admission: Admission,
        max_body_bytes: int,
        max_response_bytes: int = 64 * 1024 * 1024,
        max_event_bytes: int = 1024 * 1024,
        deadline_s: float = 900.0,
        body_timeout_s: float | None = None,
    ) -> None:
        self._admission = admission
        self._upstream = upstream
        self._usage = usage
        self._max_body = max_body_bytes
        self._max_response = max_response_bytes
        self._max_event = max_event_bytes
        self._deadline = deadline_s
        self._body_timer = BodyTimer(body_timeout_s) if body_timeout_s else None
        #: The calls' deadlines and the last event's send bound: a dict entry each, not a timer.
        self._deadlines = Deadlines(DEADLINE_RESOLUTION_S)
        #: Calls admitted and not finished yet (``headwater_requests_in_flight``).
        self.in_flight = 0

    async def handle(
        self,
        endpoint: bodies.Endpoint,
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
        raw = await read_body(receive, self._max_body, content_length, self._body_timer)
        payload = bodies.parse(raw, endpoint)
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
        ticket = await self._admission.admit(snapshot, key, model, payload, request_id, headers, len(raw))
        stream = payload.get("stream") is True
        call = Call(request_id, key, model, endpoint.name, payload, started, stream)
        call.ticket = ticket
        call.body_bytes = len(raw)
        call.attribution = self._admission.plan(snapshot, key, model).attribution  # cached per revision
        if ticket is not None:
            call.prompt_estimate = ticket.prompt_estimate
        self.in_flight += 1
        try:
            await self._forward(call, raw, endpoint.upstream_path, receive, send, headers)
        except GatewayError as error:
            event = await self._account(call, status="error", http_status=error.status, usage=None)
            await self._settle(call, event)
            raise
        finally:
            self.in_flight -= 1

    async def _account(
        self,
        call: Call,
        *,
        status: str,
        http_status: int,
        usage: dict[str, Any] | None,
        completion_estimate: int = 0,
        first_token_at: float | None = None,
        answered: bool | None = None,
    ) -> UsageEvent:
        """The call's usage event, emitted (journaled) before the response's last bytes are sent: a
        process killed once the client has its answer has already recorded it."""
        if call.body_bytes >= LARGE_BODY and call.prompt_estimate is None and not trusted(usage):
            await call.estimate()  # the usage event needs the estimate: off the loop, for a large body
        return call.record(
            self._usage,
            status=status,
            http_status=http_status,
            usage=usage,
            completion_estimate=completion_estimate,
            first_token_at=first_token_at,
            answered=answered,
        )

    async def _settle(self, call: Call, event: UsageEvent) -> None:
        """The real usage settles the reservation (after the response: it never waits on Redis)."""
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
        if call.ticket is not None and call.ticket.max_tokens is not None:
            # The client set no maximum: send the one admission reserved, so that it bounds the output.
            payload = {**payload, "max_tokens": call.ticket.max_tokens}
            rewrite = True
        loop = asyncio.get_running_loop()
        failure: GatewayError | None = None
        for deployment in attempts(call.model):
            if rewrite or deployment.upstream_model != call.model.name:
                body = orjson.dumps({**payload, "model": deployment.upstream_model})
            else:  # nothing to change: the client's bytes go upstream as they came
                body = raw
            seconds = deployment.deadline_s or self._deadline
            deadline = loop.time() + seconds
            try:
                with self._deadlines.within(deadline):
                    response = await self._upstream.post(deployment, path, body, call.request_id)
            except Unreachable as error:
                failure = error
                continue
            except TimeoutError:
                call.deployment = deployment
                raise deadline_error(deployment, seconds) from None
            except GatewayError:  # sent, then it failed (no answer in time, a broken connection)
                call.deployment = deployment
                raise
            call.deployment = deployment
            break
        else:
            assert failure is not None
            raise failure

        status = response.status
        if status >= 300:
            await self._upstream_error(call, response, send, headers, deadline)
        elif call.streamed and response.content_type == EVENT_STREAM.decode():
            await self._stream(
                call, response, receive, send, headers, hide_usage=not wants_usage, deadline=deadline
            )
        else:
            await self._complete(call, response, send, headers, deadline)

    async def _read(
        self, call: Call, response: aiohttp.ClientResponse, deadline: float, limit: int | None = None
    ) -> bytes:
        """The whole body, within the call's deadline and the response size cap."""
        deployment = call.deployment
        assert deployment is not None
        try:
            with self._deadlines.within(deadline):
                return await read_capped(response, deployment, limit or self._max_response)
        except TimeoutError:
            raise deadline_error(deployment, deployment.deadline_s or self._deadline) from None

    async def _complete(
        self, call: Call, response: aiohttp.ClientResponse, send: Send, headers: Headers, deadline: float
    ) -> None:
        assert call.deployment is not None
        raw = await self._read(call, response, deadline)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise broken_error(call.deployment, "its response is not valid JSON") from None
        if not isinstance(data, dict):
            raise broken_error(call.deployment, "its response is not a JSON object")
        usage = data.get("usage")
        for old, new in sse.rename_pairs(call.deployment.upstream_model, call.model.name):
            raw = raw.replace(old, new)
        event = await self._account(
            call,
            status="success",
            http_status=200,
            usage=usage if isinstance(usage, dict) else None,
            completion_estimate=0 if trusted(usage) else await _completion_estimate(data, len(raw)),
        )
        await send_bytes(send, 200, raw, headers)
        await self._settle(call, event)

    async def _stream(
        self,
        call: Call,
        response: aiohttp.ClientResponse,
        receive: Receive,
        send: Send,
        headers: Headers,
        *,
        hide_usage: bool,
        deadline: float,
    ) -> None:
        assert call.deployment is not None
        headers.append((b"content-type", b"text/event-stream; charset=utf-8"))
        headers.append((b"cache-control", b"no-cache"))
        headers.append((b"x-accel-buffering", b"no"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        state = sse.StreamState()
        rename = sse.rename_pairs(call.deployment.upstream_model, call.model.name)
        relay = asyncio.ensure_future(
            sse.relay(
                response, send, state, hide_usage=hide_usage, rename=rename, max_event_bytes=self._max_event
            )
        )
        watcher = asyncio.ensure_future(_disconnected(receive))
        client_left = False
        try:
            try:
                with self._deadlines.within(deadline):
                    done, _ = await asyncio.wait((relay, watcher), return_when=asyncio.FIRST_COMPLETED)
                client_left = relay not in done
            except TimeoutError:
                error = deadline_error(call.deployment, call.deployment.deadline_s or self._deadline)
                state.failure = sse.Cut(error.message, "upstream_deadline_exceeded", 504)
        except asyncio.CancelledError:  # the server stopped waiting for this call (shutdown)
            state.failure = sse.Cut(
                "The server is shutting down; the stream was cut.", "server_shutting_down", 503
            )
            raise
        finally:
            for task in (relay, watcher):
                task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await watcher
            try:
                await relay
            except asyncio.CancelledError:
                pass
            except Exception:  # a defect in the relay: still end and account the call
                state.failure = state.failure or sse.Cut(
                    "The gateway failed to relay the stream.", "internal_error"
                )
            if state.failure is None and not client_left:
                response.release()
            else:  # never pool a connection whose body was not read to its end
                response.close()
            if client_left:
                status, http_status = "cancelled", 499
            elif state.failure is not None:
                status, http_status = "error", state.failure.http_status
            else:
                status, http_status = "success", 200
            event = await self._account(
                call,
                status=status,
                http_status=http_status,
                usage=state.usage,
                completion_estimate=max(state.events - 1, 0),
                first_token_at=state.first_token_at,
                answered=True,
            )
            if not client_left:
                end = sse.terminal_event(state.failure) if state.failure else b""
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    last = asyncio.get_running_loop().time() + FINAL_SEND_S
                    with self._deadlines.within(last):
                        await send({"type": "http.response.body", "body": end, "more_body": False})
            await self._settle(call, event)

    async def _upstream_error(
        self, call: Call, response: aiohttp.ClientResponse, send: Send, headers: Headers, deadline: float
    ) -> None:
        deployment = call.deployment
        assert deployment is not None
        status = response.status
        refusal = upstream_errors.refusal(status, deployment)
        if refusal is not None:
            response.close()
            raise refusal
        # an error says what it has to say in far less than a response may take
        raw = await self._read(call, response, deadline, min(self._max_response, MAX_ERROR_BYTES))
        if status >= 500:
            raise upstream_errors.server_error(status, raw, deployment, call.model.name)
        retry_after = upstream_errors.retry_after(response.headers.get("Retry-After"))
        if retry_after:
            headers.append((b"retry-after", retry_after))
        body = upstream_errors.client_error_body(raw, deployment, call.model.name)
        event = await self._account(call, status="error", http_status=status, usage=None)
        await send_bytes(send, status, body, headers, JSON)
        await self._settle(call, event)


async def _completion_estimate(response: dict[str, Any], size: int) -> int:
    """The completion of a response without usage, estimated off the event loop when it is large."""
    if size < LARGE_BODY:
        return completion_text_tokens(response)
    return await asyncio.to_thread(completion_text_tokens, response)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
