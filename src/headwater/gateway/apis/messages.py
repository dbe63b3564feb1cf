"""Anthropic's Messages API (``POST /v1/messages``, ``POST /v1/messages/count_tokens``).

Clients authenticate with ``x-api-key`` (Anthropic's SDK) or ``Authorization: Bearer``. An
``anthropic`` deployment gets the request untranslated; any other chat deployment gets it translated
to chat completions (:mod:`headwater.gateway.wire.anthropic`), and a request that cannot be served
faithfully that way (extended thinking, documents, server tools) is refused with 400 naming the
field. Every error on these paths, a stream's terminal event included, is in Anthropic's shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from headwater import token_estimate
from headwater.errors import BadRequest, GatewayError
from headwater.gateway.apis.base import Inbound
from headwater.gateway.apis.responses import _json
from headwater.gateway.wire import anthropic as wire
from headwater.gateway.wire.base import EventEncoder, Json, UsageSniffer, WireError
from headwater.snapshot import DeploymentView, KeyView

if TYPE_CHECKING:
    from headwater.gateway.accounting import Call


class MessagesApi:
    operation = "messages"
    kinds = frozenset({"chat"})

    def parse(self, raw: bytes) -> Inbound:
        payload = _json(raw)
        model = payload.get("model")
        if not isinstance(model, str) or not model:
            raise BadRequest("model: Field required (a non-empty string).", param="model")
        stream = payload.get("stream") is True
        inbound = Inbound(payload, raw, model, stream, {"model": model, "messages": []})
        try:
            inbound.chat = wire.request_to_chat(payload)
        except WireError as error:
            inbound.untranslatable = error
            text = orjson.dumps([payload.get("system"), payload.get("messages")]).decode()
            inbound.chat = {"model": model, "messages": [{"role": "user", "content": text}]}
            max_tokens = payload.get("max_tokens")
            if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > 0:
                inbound.chat["max_tokens"] = max_tokens
        return inbound

    def error_body(self, error: GatewayError) -> bytes:
        message = error.message
        if error.param and not message.startswith(error.param):  # Anthropic's shape has no param
            message = f"{error.param}: {message}"
        return wire.error_body(error.status, message)

    def relayed_error(
        self, status: int, message: str, type_: str | None, code: str | None, param: str | None
    ) -> bytes:
        return wire.error_body(status, message)

    async def prepare(self, inbound: Inbound, key: KeyView) -> None:
        return None

    def native_body(self, inbound: Inbound, deployment: DeploymentView, max_tokens: int | None) -> bytes:
        if deployment.upstream_model == inbound.model:
            return inbound.raw
        return orjson.dumps({**inbound.native, "model": deployment.upstream_model})

    def native_usage(self, data: Json) -> Json | None:
        return wire.usage_of_message(data)

    def sniffer(self) -> UsageSniffer | None:
        return wire.MessagesUsage()

    def from_chat(self, chat: Json, inbound: Inbound, model: str) -> Json:
        return wire.response_from_chat(chat, model)

    def encoder(self, inbound: Inbound, model: str) -> EventEncoder:
        return wire.MessagesEncoder(model)

    def cut(self, message: str, code: str) -> bytes:
        return wire.error_event(message, code)

    async def finish(self, inbound: Inbound, call: Call, answer: Json | None) -> None:
        return None

    def count_tokens(self, raw: bytes) -> tuple[str, int]:
        """``POST /v1/messages/count_tokens``: the model named, and the prompt's estimated tokens."""
        payload = _json(raw)
        model = payload.get("model")
        if not isinstance(model, str) or not model:
            raise BadRequest("model: Field required (a non-empty string).", param="model")
        try:
            chat = wire.count_tokens_to_chat(payload)
        except WireError as error:
            raise BadRequest(error.message, code=error.code, param=error.param) from None
        return model, token_estimate.count_prompt(chat)
