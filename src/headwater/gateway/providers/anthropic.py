"""``anthropic``: Anthropic's Messages API.

``base_url`` is ``https://api.anthropic.com/v1`` (or a compatible server's); the credential goes in
``x-api-key``, with ``anthropic-version: 2023-06-01``. Messages API calls (and token counts) pass
through untranslated; chat completions and Responses API calls are translated to messages and back
(:mod:`headwater.gateway.wire.anthropic`).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from yarl import URL

from headwater.gateway.providers.base import ANTHROPIC, ErrorInfo
from headwater.gateway.wire import anthropic as wire
from headwater.gateway.wire.base import ChunkDecoder, Json
from headwater.snapshot import DeploymentView

VERSION = "2023-06-01"
PATHS = {"messages": "/messages", "count_tokens": "/messages/count_tokens", "chat": "/messages"}
NATIVE = frozenset({"messages", "count_tokens"})
#: Anthropic's error types, as the status the client gets.
_STATUS = {"rate_limit_error": 429, "overloaded_error": 529, "api_error": 500}


class Anthropic:
    name = "anthropic"
    wire = ANTHROPIC
    stream_type = "text/event-stream"

    def __init__(self) -> None:
        self._targets: dict[tuple[str, str, str | None, str], tuple[URL, Mapping[str, str]]] = {}

    def natively(self, deployment: DeploymentView, operation: str) -> bool:
        return operation in NATIVE

    def target(
        self, deployment: DeploymentView, operation: str, body: bytes, stream: bool
    ) -> tuple[URL, Mapping[str, str]]:
        cache_key = (deployment.id, deployment.base_url, deployment.credential, operation)
        found = self._targets.get(cache_key)
        if found is None:
            if len(self._targets) > 10_000:
                self._targets.clear()
            headers = {
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
                "anthropic-version": VERSION,
            }
            if deployment.credential:
                headers["x-api-key"] = deployment.credential
            found = self._targets[cache_key] = (URL(deployment.base_url + PATHS[operation]), headers)
        return found

    def request_from_chat(self, chat: Json, deployment: DeploymentView, default_max_tokens: int) -> Json:
        return wire.request_from_chat(chat, deployment.upstream_model, default_max_tokens)

    def response_to_chat(self, raw: bytes, deployment: DeploymentView) -> Json:
        native = orjson.loads(raw)
        if not isinstance(native, dict):
            raise ValueError("the response is not a JSON object")
        return wire.response_to_chat(native)

    def decoder(self, deployment: DeploymentView, max_event_bytes: int) -> ChunkDecoder:
        return wire.MessagesDecoder(max_event_bytes)

    def error(self, status: int, raw: bytes, headers: Mapping[str, str]) -> ErrorInfo | None:
        fields = wire.error_fields(raw)
        if fields is None:
            return None
        message, kind = fields
        return ErrorInfo(message, kind, kind, None, _STATUS.get(kind) if status >= 500 else None)
