"""``openai``: any server that speaks OpenAI's API (vLLM, TGI, Ollama, LM Studio, OpenAI itself).

Chat completions, completions and embeddings go to it untranslated; so do Responses API calls when
the deployment declares ``responses_api``. The credential, if any, is a bearer token.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from yarl import URL

from headwater.gateway.providers.base import OPENAI, RESPONSES, ErrorInfo
from headwater.gateway.wire import openai_chat
from headwater.gateway.wire.base import ChunkDecoder, Json
from headwater.snapshot import DeploymentView

#: Where each operation goes, after the deployment's base URL (which ends with /v1).
PATHS = {
    "chat": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
    RESPONSES: "/responses",
}
NATIVE = frozenset({"chat", "completions", "embeddings"})
_BASE_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


class OpenAIWire:
    """What every provider of OpenAI's wire shares: the body as is, answers read as OpenAI's."""

    wire = OPENAI
    stream_type = "text/event-stream"

    def __init__(self) -> None:
        self._targets: dict[tuple[str, str, str | None, str], tuple[URL, Mapping[str, str]]] = {}

    def natively(self, deployment: DeploymentView, operation: str) -> bool:
        return operation in NATIVE or (operation == RESPONSES and deployment.responses_api)

    def target(
        self, deployment: DeploymentView, operation: str, body: bytes, stream: bool
    ) -> tuple[URL, Mapping[str, str]]:
        cache_key = (deployment.id, deployment.base_url, deployment.credential, operation)
        found = self._targets.get(cache_key)
        if found is None:
            if len(self._targets) > 10_000:
                self._targets.clear()
            found = self._targets[cache_key] = (self._url(deployment, operation), self._headers(deployment))
        return found

    def _url(self, deployment: DeploymentView, operation: str) -> URL:
        return URL(deployment.base_url + PATHS[operation])

    def _headers(self, deployment: DeploymentView) -> Mapping[str, str]:
        if deployment.credential:
            return {**_BASE_HEADERS, "Authorization": f"Bearer {deployment.credential}"}
        return _BASE_HEADERS

    def request_from_chat(self, chat: Json, deployment: DeploymentView, default_max_tokens: int) -> Json:
        return {**chat, "model": deployment.upstream_model}

    def response_to_chat(self, raw: bytes, deployment: DeploymentView) -> Json:
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("the response is not a JSON object")
        return data

    def decoder(self, deployment: DeploymentView, max_event_bytes: int) -> ChunkDecoder:
        return openai_chat.ChatDecoder(max_event_bytes)

    def error(self, status: int, raw: bytes, headers: Mapping[str, str]) -> ErrorInfo | None:
        fields = openai_chat.error_fields(raw)
        if fields is None:
            return None

        def text(name: str) -> str | None:
            value = fields.get(name)
            return None if value is None or isinstance(value, dict | list) else str(value)

        return ErrorInfo(text("message") or "", text("type"), text("code"), text("param"))


class OpenAI(OpenAIWire):
    name = "openai"
