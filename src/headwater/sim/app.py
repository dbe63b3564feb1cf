"""The simulator as a pure ASGI application (see :mod:`headwater.sim` for the failure directives)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from headwater import token_estimate
from headwater.sim import answers, asgi
from headwater.sim import bodies as req
from headwater.sim import responses as res
from headwater.sim.asgi import ASGIApp, Receive, Scope, Send
from headwater.sim.chunks import StreamFrames
from headwater.sim.config import SimConfig
from headwater.sim.directives import FAILURES, Directives, parse_model
from headwater.sim.metrics import CONTENT_TYPE, SimEngine, Ticket, default_engine
from headwater.sim.options import chat_options, completion_options
from headwater.sim.text import canonical, embedding

CHAT_MODEL = "sim-chat"
EMBEDDING_MODEL = "sim-embed"
HANG_SECONDS = 60.0
CUT_AFTER_TOKENS = 3

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
HEALTH_BODY = b'{"status":"ok"}'
GARBAGE_BODY = b"not json at all"


@dataclass(slots=True)
class _Reply:
    chat: bool
    model: str
    choices: tuple[answers.Choice, ...]  # the choices returned (n)
    generated: int  # completion tokens of every sequence generated (best_of of them)
    prompt_tokens: int
    include_usage: bool
    directives: Directives
    top: int | None  # logprobs alternatives asked for (None: no logprobs)

    def usage(self) -> dict[str, int] | None:
        return None if self.directives.no_usage else res.usage(self.prompt_tokens, self.generated)


class SimApp:
    """Routes ``/health``, ``/metrics`` (vLLM's names, :mod:`headwater.sim.metrics`), ``/v1/models``,
    ``/v1/chat/completions``, ``/v1/completions`` and ``/v1/embeddings``; anything else is a 404 in
    OpenAI's error shape. Completions run in ``engine`` (default: :func:`default_engine`)."""

    def __init__(self, config: SimConfig, engine: SimEngine | None = None) -> None:
        self.config = config
        self.engine = engine or default_engine(config.max_model_len, (CHAT_MODEL, EMBEDDING_MODEL))
        self._failures = random.Random(config.seed)
        self._ttft = config.ttft_s
        self._interval = config.token_interval_s
        self._models = res.models_body(int(time.time()), (CHAT_MODEL, EMBEDDING_MODEL))
        self._routes: dict[str, tuple[str, Callable[[Receive, Send], Awaitable[None]]]] = {
            "/v1/chat/completions": ("POST", self._chat),
            "/v1/completions": ("POST", self._completions),
            "/v1/embeddings": ("POST", self._embeddings),
            "/v1/models": ("GET", self._list_models),
            "/health": ("GET", self._health),
            "/metrics": ("GET", self._metrics),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            try:
                await self._http(scope, receive, send)
            except res.SimError as error:
                await asgi.send_json(send, error.status, error.body, error.headers)
        elif kind == "lifespan":
            await asgi.lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        route = self._routes.get(path if len(path) < 2 else path.rstrip("/"))
        if route is None:
            raise res.SimError(404, f"Unknown request URL: {scope['method']} {path}.", code="unknown_url")
        method, handler = route
        if scope["method"] != method:
            raise res.SimError(
                405,
                f"Method {scope['method']} is not allowed on {path}; use {method}.",
                code="method_not_allowed",
                headers=((b"allow", method.encode()),),
            )
        await handler(receive, send)

    async def _health(self, receive: Receive, send: Send) -> None:
        await asgi.send_json(send, 200, HEALTH_BODY)

    async def _list_models(self, receive: Receive, send: Send) -> None:
        await asgi.send_json(send, 200, self._models)

    async def _metrics(self, receive: Receive, send: Send) -> None:
        body = self.engine.exposition()
        headers = [(b"content-type", CONTENT_TYPE), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    # ---- model requests ----

    def _directives(self, payload: dict[str, Any]) -> tuple[str, Directives]:
        """The echoed model and its directives; raises the injected (or random) failures."""
        model, directives = parse_model(req.model_name(payload))
        if directives.fail is not None:
            status, type_, code, headers = FAILURES[directives.fail]
            raise res.SimError(
                status,
                f"Simulated failure requested by the model suffix ':{directives.fail}'.",
                type_=type_,
                code=code,
                headers=headers,
            )
        return model, directives

    def _maybe_fail(self) -> None:
        rate = self.config.error_rate
        if rate > 0 and self._failures.random() < rate:
            raise res.SimError(
                500,
                "Simulated random server error (error_rate).",
                type_="server_error",
                code="simulated_error",
            )

    async def _chat(self, receive: Receive, send: Send) -> None:
        payload = await req.read_json(receive)
        model, directives = self._directives(payload)
        if directives.garbage:
            return await asgi.send_json(send, 200, GARBAGE_BODY)
        messages = req.messages(payload)
        await self._complete(True, payload, model, directives, canonical(messages), messages, receive, send)

    async def _completions(self, receive: Receive, send: Send) -> None:
        payload = await req.read_json(receive)
        model, directives = self._directives(payload)
        if directives.garbage:
            return await asgi.send_json(send, 200, GARBAGE_BODY)
        prompt = req.required(payload, "prompt")
        req.input_items(prompt, "prompt")
        await self._complete(False, payload, model, directives, canonical(prompt), None, receive, send)

    async def _embeddings(self, receive: Receive, send: Send) -> None:
        payload = await req.read_json(receive)
        model, directives = self._directives(payload)
        if directives.garbage:
            return await asgi.send_json(send, 200, GARBAGE_BODY)
        keys = req.input_items(req.required(payload, "input"), "input")
        size = req.dimensions(payload, self.config.embedding_dimensions)
        as_base64 = req.base64_encoding(payload)
        self._maybe_fail()
        seed = self.config.seed
        prompt_tokens = token_estimate.count_prompt(payload)
        usage = (
            None if directives.no_usage else {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
        )
        body = res.embeddings_body(model, [embedding(seed, key, size) for key in keys], as_base64, usage)
        if self._ttft > 0 or directives.hang:
            await asgi.until_disconnect(self._respond_later(body, directives, send), receive)
        elif directives.cut:
            await asgi.send_cut_json(send, body)
        else:
            await asgi.send_json(send, 200, body)

    async def _respond_later(self, body: bytes, directives: Directives, send: Send) -> None:
        await asyncio.sleep(HANG_SECONDS if directives.hang else self._ttft)
        if directives.cut:
            return await asgi.send_cut_json(send, body)
        await asgi.send_json(send, 200, body)

    async def _complete(
        self,
        chat: bool,
        payload: dict[str, Any],
        model: str,
        directives: Directives,
        material: bytes,
        messages: list[dict[str, Any]] | None,
        receive: Receive,
        send: Send,
    ) -> None:
        stream = req.optional_bool(payload, "stream")
        n, sequences = req.choices(payload, not chat, stream)
        include_usage = stream and req.include_usage(payload)
        limit = req.token_limit(payload)
        endless = directives.ignore_eos or req.optional_bool(payload, "ignore_eos")
        options = chat_options(payload) if chat else completion_options(payload)
        prompt_tokens = token_estimate.count_prompt(payload)
        room = self._room(prompt_tokens, limit, "messages" if chat else "prompt")
        self._maybe_fail()
        if options.seed is not None:
            material += b"\0seed=%d" % options.seed
        request = answers.Request(self.config.seed, model, material, room, endless, options, messages)
        if request.structured:  # a schema to walk: off the event loop
            generated = await asyncio.to_thread(answers.choices, request, sequences)
        else:
            generated = answers.choices(request, sequences)
        count = sum(choice.cost for choice in generated)
        returned = tuple(generated[:n])
        reply = _Reply(
            chat, model, returned, count, prompt_tokens, include_usage, directives, options.logprobs
        )
        finished = "abort" if directives.cut else "length" if returned[0].finish == "length" else "stop"

        async def deliver(ticket: Ticket) -> None:
            await (self._stream(reply, ticket, send) if stream else self._respond(reply, ticket, send))

        run = self.engine.run(model, prompt_tokens, count, finished, deliver)
        if self._ttft > 0 or self._interval > 0 or directives.hang:
            await asgi.until_disconnect(run, receive)
        else:
            await run

    def _room(self, prompt_tokens: int, limit: int | None, param: str) -> int:
        """The most tokens a choice may generate: the request's cap, within the context length."""
        context = self.config.max_model_len
        wanted = prompt_tokens + (limit or 0)
        if wanted > context or prompt_tokens >= context:
            raise res.SimError(
                400,
                f"This model's maximum context length is {context} tokens. However, you requested "
                f"{wanted} tokens ({prompt_tokens} in the {param}, {limit or 0} in the completion). "
                f"Please reduce the length of the {param} or completion.",
                param=param,
                code="context_length_exceeded",
            )
        return limit if limit is not None else context - prompt_tokens

    async def _respond(self, reply: _Reply, ticket: Ticket, send: Send) -> None:
        if reply.directives.hang:
            await asyncio.sleep(HANG_SECONDS)
        if self._ttft > 0:
            await asyncio.sleep(self._ttft)
        ticket.first_token()
        longest = max(choice.steps for choice in reply.choices)
        rest = self._interval * (longest - 1)
        if rest > 0:
            await asyncio.sleep(rest)
        build = res.chat_completion if reply.chat else res.text_completion
        body = build(
            res.new_id("chatcmpl-" if reply.chat else "cmpl-"),
            int(time.time()),
            reply.model,
            reply.choices,
            reply.usage(),
            reply.top,
        )
        if reply.directives.cut:
            return await asgi.send_cut_json(send, body)
        await asgi.send_json(send, 200, body)

    async def _stream(self, reply: _Reply, ticket: Ticket, send: Send) -> None:
        if reply.directives.hang:
            await asyncio.sleep(HANG_SECONDS)
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        frames = StreamFrames(
            reply.chat,
            res.new_id("chatcmpl-" if reply.chat else "cmpl-"),
            int(time.time()),
            reply.model,
            reply.include_usage,
            reply.top,
        )
        # One step per token position: each choice's token at that position, in index order.
        per_choice = [frames.choice(choice, index) for index, choice in enumerate(reply.choices)]
        steps = [
            b"".join(choice[step] for choice in per_choice if step < len(choice))
            for step in range(max(len(choice) for choice in per_choice))
        ]
        cut = reply.directives.cut
        events = steps[:CUT_AFTER_TOKENS] if cut else steps
        closing: list[bytes] = []
        if not cut:
            closing.extend(frames.finish(choice.finish, index) for index, choice in enumerate(reply.choices))
            usage = reply.usage()
            if reply.include_usage and usage is not None:
                closing.append(frames.usage(usage))
            closing.append(res.DONE)
        if self._ttft > 0:
            await asyncio.sleep(self._ttft)
        ticket.first_token()
        if self._interval > 0:
            # One send per step, paced; the closing events travel with the last step.
            for event in events[:-1]:
                await send({"type": "http.response.body", "body": event, "more_body": True})
                await asyncio.sleep(self._interval)
            events = events[-1:]
        # With ``cut`` the body is never completed: the server then drops the connection mid-stream.
        await send({"type": "http.response.body", "body": b"".join(events + closing), "more_body": cut})


def create_sim_app(config: SimConfig, engine: SimEngine | None = None) -> ASGIApp:
    """The simulator's ASGI application for ``config`` (``engine``: see :class:`SimApp`)."""
    return SimApp(config, engine)
