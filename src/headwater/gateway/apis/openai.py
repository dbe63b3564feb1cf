"""OpenAI's chat completions, completions and embeddings, as clients call them.

To an OpenAI-compatible upstream the client's bytes go as they came, unless something must change
(the upstream model's name, the output bound admission reserved, the stream's usage chunk, which
the gateway always asks for and hides from a client that did not). Chat completions may also be
served by an upstream of another wire (Anthropic, Bedrock), translated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from headwater.errors import GatewayError, error_body
from headwater.gateway import bodies, sse
from headwater.gateway.apis.base import Inbound
from headwater.gateway.wire import openai_chat
from headwater.gateway.wire.base import EventEncoder, Json, UsageSniffer
from headwater.snapshot import DeploymentView, KeyView

if TYPE_CHECKING:
    from headwater.gateway.accounting import Call


class OpenAIApi:
    def __init__(self, endpoint: bodies.Endpoint) -> None:
        self.endpoint = endpoint
        self.operation = endpoint.name
        self.kinds = endpoint.kinds

    def parse(self, raw: bytes) -> Inbound:
        payload = bodies.parse(raw, self.endpoint)
        stream = payload.get("stream") is True
        inbound = Inbound(payload, raw, payload["model"], stream, payload)
        options = payload.get("stream_options")
        inbound.extra["wants_usage"] = (
            bool(options.get("include_usage")) if isinstance(options, dict) else False
        )
        return inbound

    def error_body(self, error: GatewayError) -> bytes:
        return error.body()

    def relayed_error(
        self, status: int, message: str, type_: str | None, code: str | None, param: str | None
    ) -> bytes:
        return error_body(message, type_ or "invalid_request_error", code, param)

    async def prepare(self, inbound: Inbound, key: KeyView) -> None:
        return None

    def native_body(self, inbound: Inbound, deployment: DeploymentView, max_tokens: int | None) -> bytes:
        payload = inbound.native
        rewrite = False
        if inbound.stream and not inbound.extra["wants_usage"]:
            options = payload.get("stream_options") or {}
            payload = {**payload, "stream_options": {**options, "include_usage": True}}
            rewrite = True
        if max_tokens is not None:
            payload = {**payload, "max_tokens": max_tokens}
            rewrite = True
        if rewrite or deployment.upstream_model != inbound.model:
            return orjson.dumps({**payload, "model": deployment.upstream_model})
        return inbound.raw  # nothing to change: the client's bytes go upstream as they came

    def native_usage(self, data: Json) -> Json | None:
        usage = data.get("usage")
        return usage if isinstance(usage, dict) else None

    def sniffer(self) -> UsageSniffer | None:
        return None

    def from_chat(self, chat: Json, inbound: Inbound, model: str) -> Json:
        return {**chat, "model": model}

    def encoder(self, inbound: Inbound, model: str) -> EventEncoder:
        return openai_chat.ChatEncoder(model, include_usage=inbound.extra["wants_usage"])

    def cut(self, message: str, code: str) -> bytes:
        return sse.terminal_event(sse.Cut(message, code))

    async def finish(self, inbound: Inbound, call: Call, answer: Json | None) -> None:
        return None


CHAT = OpenAIApi(bodies.CHAT)
COMPLETIONS = OpenAIApi(bodies.COMPLETIONS)
EMBEDDINGS = OpenAIApi(bodies.EMBEDDINGS)
