"""``bedrock``: AWS Bedrock's Converse and ConverseStream APIs.

``base_url`` is the runtime endpoint (``https://bedrock-runtime.REGION.amazonaws.com``),
``upstream_model`` the model or inference profile id, ``region`` the region requests are signed
for. The credential is ``ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`` (each call signed with
SigV4 by botocore) or a Bedrock API key (a bearer token). No client speaks Converse: every call is
translated (:mod:`headwater.gateway.wire.bedrock`).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from yarl import URL

from headwater.gateway.providers import bedrock_auth
from headwater.gateway.providers.base import BEDROCK, ErrorInfo
from headwater.gateway.wire import bedrock as wire
from headwater.gateway.wire.base import ChunkDecoder, Json
from headwater.snapshot import DeploymentView

EVENT_STREAM = "application/vnd.amazon.eventstream"


class Bedrock:
    name = "bedrock"
    wire = BEDROCK
    stream_type = EVENT_STREAM

    def natively(self, deployment: DeploymentView, operation: str) -> bool:
        return False

    def target(
        self, deployment: DeploymentView, operation: str, body: bytes, stream: bool
    ) -> tuple[URL, Mapping[str, str]]:
        url = bedrock_auth.url(deployment.base_url, deployment.upstream_model, stream)
        headers = {
            "Content-Type": "application/json",
            "Accept": EVENT_STREAM if stream else "application/json",
        }
        if deployment.credential:
            region = deployment.region or "us-east-1"
            headers.update(bedrock_auth.sign("POST", url, body, region, deployment.credential))
        return URL(url, encoded=True), headers

    def request_from_chat(self, chat: Json, deployment: DeploymentView, default_max_tokens: int) -> Json:
        return wire.request_from_chat(chat, default_max_tokens)

    def response_to_chat(self, raw: bytes, deployment: DeploymentView) -> Json:
        native = orjson.loads(raw)
        if not isinstance(native, dict):
            raise ValueError("the response is not a JSON object")
        return wire.response_to_chat(native, deployment.upstream_model)

    def decoder(self, deployment: DeploymentView, max_event_bytes: int) -> ChunkDecoder:
        return wire.ConverseStreamDecoder(max_event_bytes)

    def error(self, status: int, raw: bytes, headers: Mapping[str, str]) -> ErrorInfo | None:
        kind = headers.get("x-amzn-errortype", "").split(":", 1)[0] or None
        fields = wire.error_fields(raw, kind)
        if fields is None:
            return None
        message, error_type = fields
        return ErrorInfo(message, error_type, kind, None, wire.error_status(kind, status))
