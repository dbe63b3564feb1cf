"""The proxy: every client API, every provider, one pipeline.

admit (auth, by the app → body → model → scope → limits) → route (deployment, failover when
unreachable) → send (the provider's URL, headers and body) → relay (bytes as they come: untranslated
when the client and the upstream speak the same API, else decoded and re-encoded chunk by chunk) →
settle (one usage event, success or failure, and the reservation settled with the real usage).

The pipeline knows no wire format: a client API (:mod:`headwater.gateway.apis`) parses requests and
writes answers and errors in its own shape; a provider (:mod:`headwater.gateway.providers`) says
where a call goes and how its answers read. Bounds on what an upstream may do (each in
docs/architecture.md):

- a whole call has a deadline (the deployment's ``deadline``, else ``HEADWATER_UPSTREAM_DEADLINE_S``),
  counted from the moment it is sent: past it a call whose response has not started is 504
  ``upstream_deadline_exceeded``, and a stream is cut;
- a non-streamed body is read up to ``HEADWATER_MAX_RESPONSE_BYTES``, an error body up to 1 MiB
  (502 ``upstream_response_too_large``); an untranslated one is never re-serialised: the public model
  name is put in by byte replacement, as in streams;
- a stream event may not exceed ``HEADWATER_MAX_STREAM_EVENT_BYTES`` (:mod:`sse`);
- a stream cut for any reason (deadline, break, event too large, the server shutting down past its
  graceful period) ends with a terminal error event in the client's API's shape, then the end of
  the body; the upstream connection is closed, never pooled;
- redirects, refused credentials and the upstream's words in errors: :mod:`upstream_errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson

from headwater.errors import GatewayError
from headwater.gateway import outbound, sse, translate, upstream_errors
from headwater.gateway.accounting import LARGE_BODY, Call, estimate_completion, trusted
from headwater.gateway.admission import Admission
from headwater.gateway.apis.base import ClientApi, Inbound, finish
from headwater.gateway.asgi import JSON, Headers, Receive, Send, read_body, send_bytes
from headwater.gateway.client_watch import relay_watching
from headwater.gateway.providers import PROVIDERS
from headwater.gateway.providers.base import Provider
from headwater.gateway.router import attempts
from headwater.gateway.upstream import (
    Unreachable,
    Upstream,
    UpstreamResponse,
    broken_error,
    deadline_error,
    json_object,
    read_capped,
)
from headwater.gateway.wire.base import WireError
from headwater.serving.body import BodyTimer
from headwater.serving.deadlines import Deadlines
from headwater.snapshot import KeyView, Snapshot
from headwater.usage.events import UsageEvent, UsageSink

log = logging.getLogger("headwater.gateway")

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
        default_max_tokens: int = 4096,
    ) -> None:
        self._admission = admission
        self._upstream = upstream
        self._usage = usage
        self._max_body = max_body_bytes
        self._max_response = max_response_bytes
        self._max_event = max_event_bytes
        self._deadline = deadline_s
        self._default_max_tokens = default_max_tokens
        self._body_timer = BodyTimer(body_timeout_s) if body_timeout_s else None
        #: The calls' deadlines and the last event's send bound: a dict entry each, not a timer.
        self._deadlines = Deadlines(DEADLINE_RESOLUTION_S)
        #: Calls admitted and not finished yet (``headwater_requests_in_flight``).
        self.in_flight = 0

    async def handle(
        self,
        api: ClientApi,
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
        inbound = api.parse(raw)
        model = outbound.model_for(api, snapshot, key, inbound.model)
        await api.prepare(inbound, key)
        refused = outbound.refusal(api, inbound, model)
        if refused is not None:  # before it is admitted: it costs the caller no request, no reservation
            raise refused
        payload = inbound.chat
        ticket = await self._admission.admit(snapshot, key, model, payload, request_id, headers, len(raw))
        call = Call(request_id, key, model, api.operation, payload, started, inbound.stream)
        call.ticket = ticket
        call.body_bytes = len(raw)
        call.attribution = self._admission.plan(snapshot, key, model).attribution  # cached per revision
        if ticket is not None:
            call.prompt_estimate = ticket.prompt_estimate
        self.in_flight += 1
        try:
            await self._forward(api, inbound, call, receive, send, headers)
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
        self, api: ClientApi, inbound: Inbound, call: Call, receive: Receive, send: Send, headers: Headers
    ) -> None:
        loop = asyncio.get_running_loop()
        failure: GatewayError | None = None
        for deployment in attempts(call.model):
            provider = PROVIDERS[deployment.provider]
            native, body = outbound.body(api, inbound, call, deployment, provider, self._default_max_tokens)
            operation = api.operation if native else "chat"
            url, upstream_headers = provider.target(deployment, operation, body, inbound.stream)
            seconds = deployment.deadline_s or self._deadline
            deadline = loop.time() + seconds
            try:
                with self._deadlines.within(deadline):
                    response = await self._upstream.send(
                        deployment, url, upstream_headers, body, call.request_id
                    )
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

        try:
            status = response.status
            streamed = inbound.stream and response.content_type in (provider.stream_type, "text/event-stream")
            if status >= 300:
                await self._upstream_error(api, provider, call, response, send, headers, deadline)
            elif streamed:
                await self._stream(
                    api, inbound, provider, native, call, response, receive, send, headers, deadline
                )
            else:
                await self._complete(api, inbound, provider, native, call, response, send, headers, deadline)
        except BaseException:
            response.close()  # whatever failed before the response was released (after, a no-op)
            raise

    async def _read(
        self, call: Call, response: UpstreamResponse, deadline: float, limit: int | None = None
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
        self,
        api: ClientApi,
        inbound: Inbound,
        provider: Provider,
        native: bool,
        call: Call,
        response: UpstreamResponse,
        send: Send,
        headers: Headers,
        deadline: float,
    ) -> None:
        deployment = call.deployment
        assert deployment is not None
        raw = await self._read(call, response, deadline)
        answer: dict[str, Any]
        if native:
            answer = json_object(raw, deployment)
            usage = api.native_usage(answer)
            reported = answer.get("model")
            shown = reported if isinstance(reported, str) else deployment.upstream_model
            for old, new in sse.rename_pairs(shown, call.model.name):
                raw = raw.replace(old, new)
            chat: dict[str, Any] = answer
        else:
            try:
                chat = provider.response_to_chat(raw, deployment)
            except (ValueError, TypeError, KeyError):
                raise broken_error(deployment, "its response is not in its API's shape") from None
            found = chat.get("usage")
            usage = found if isinstance(found, dict) else None
            try:
                answer = api.from_chat(chat, inbound, call.model.name)
            except WireError as error:  # the upstream's answer cannot be said in the client's API
                raise broken_error(deployment, error.message) from None
            raw = orjson.dumps(answer)
        event = await self._account(
            call,
            status="success",
            http_status=200,
            usage=usage,
            completion_estimate=0 if trusted(usage) else await estimate_completion(chat, len(raw)),
        )
        await finish(api, inbound, call, answer)  # stored before the client can ask for it
        await send_bytes(send, 200, raw, headers)
        await self._settle(call, event)

    async def _stream(
        self,
        api: ClientApi,
        inbound: Inbound,
        provider: Provider,
        native: bool,
        call: Call,
        response: UpstreamResponse,
        receive: Receive,
        send: Send,
        headers: Headers,
        deadline: float,
    ) -> None:
        deployment = call.deployment
        assert deployment is not None
        headers.append((b"content-type", b"text/event-stream; charset=utf-8"))
        headers.append((b"cache-control", b"no-cache"))
        headers.append((b"x-accel-buffering", b"no"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        state = sse.StreamState()
        work, encoder, sniffer = translate.relay_for(
            api,
            inbound,
            provider,
            native,
            deployment,
            call.model.name,
            response,
            send,
            state,
            self._max_event,
        )
        client_left = False
        try:
            try:
                with self._deadlines.within(deadline):
                    client_left = await relay_watching(work, receive)
            except TimeoutError:
                error = deadline_error(deployment, deployment.deadline_s or self._deadline)
                state.failure = sse.Cut(error.message, "upstream_deadline_exceeded", 504)
            except Exception:  # a defect in the relay: still end and account the call
                log.exception("the relay of request %s failed", call.request_id)
                state.failure = state.failure or sse.Cut(
                    "The gateway failed to relay the stream.", "internal_error"
                )
        except asyncio.CancelledError:  # the server stopped waiting for this call (shutdown)
            state.failure = sse.Cut(
                "The server is shutting down; the stream was cut.", "server_shutting_down", 503
            )
            raise
        finally:
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
                cut = state.failure
                if encoder is not None:
                    end = encoder.cut(cut.message, cut.code) if cut else encoder.end(state.usage)
                else:
                    end = api.cut(cut.message, cut.code) if cut else b""
                if cut is None:  # stored before the stream ends: a client may ask for it at once
                    final = getattr(encoder if encoder is not None else sniffer, "response", None)
                    await finish(api, inbound, call, final if isinstance(final, dict) else None)
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    last = asyncio.get_running_loop().time() + FINAL_SEND_S
                    with self._deadlines.within(last):
                        await send({"type": "http.response.body", "body": end, "more_body": False})
            await self._settle(call, event)

    async def _upstream_error(
        self,
        api: ClientApi,
        provider: Provider,
        call: Call,
        response: UpstreamResponse,
        send: Send,
        headers: Headers,
        deadline: float,
    ) -> None:
        deployment = call.deployment
        assert deployment is not None
        status = response.status
        refusal = upstream_errors.refusal(status, deployment)
        if refusal is not None:
            response.close()
            raise refusal
        upstream_headers = {name.lower(): value for name, value in response.headers.items()}
        # an error says what it has to say in far less than a response may take
        raw = await self._read(call, response, deadline, min(self._max_response, MAX_ERROR_BYTES))
        info = provider.error(status, raw, upstream_headers)
        status, fields, retry_after = upstream_errors.answer(
            status, raw, upstream_headers, info, deployment, call.model.name
        )
        if retry_after:
            headers.append((b"retry-after", retry_after))
        body = api.relayed_error(status, *fields)
        event = await self._account(call, status="error", http_status=status, usage=None)
        await send_bytes(send, status, body, headers, JSON)
        await self._settle(call, event)
