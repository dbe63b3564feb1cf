"""The provider seam: what the gateway needs to know to call one kind of upstream.

A provider says which wire protocol its servers speak (``wire``), where a call goes and with which
headers (:meth:`Provider.target`), and — when its wire is not OpenAI's — how a chat completion
request becomes its request, and how its answers (whole, streamed, errors) become chat completion
ones. Everything else (admission, routing, deadlines, relaying, accounting) is the proxy's and is
the same for every provider. Adding a provider is one module here, registered in
:data:`headwater.gateway.providers.PROVIDERS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from yarl import URL

from headwater.gateway.wire.base import ChunkDecoder, Json
from headwater.snapshot import DeploymentView

#: The wire protocols an upstream may speak.
OPENAI = "openai"
ANTHROPIC = "anthropic"
BEDROCK = "bedrock"
#: A client API that only an OpenAI-compatible server may implement natively.
RESPONSES = "responses"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An upstream's error answer, read: what the client is told (scrubbed by the caller)."""

    message: str
    type: str | None = None
    code: str | None = None
    param: str | None = None
    #: The status the client gets for it (an upstream may say "throttled" with another status).
    status: int | None = None


class Provider(Protocol):
    #: The deployment's ``provider`` value.
    name: str
    #: The wire protocol its servers speak.
    wire: str
    #: The content type of its streamed answers.
    stream_type: str

    def natively(self, deployment: DeploymentView, operation: str) -> bool:
        """Whether a client call of ``operation`` (chat, completions, embeddings, responses,
        messages, count_tokens) goes to this deployment untranslated."""
        ...

    def target(
        self, deployment: DeploymentView, operation: str, body: bytes, stream: bool
    ) -> tuple[URL, Mapping[str, str]]:
        """The URL and headers (credential included) for a call of ``operation`` with ``body``."""
        ...

    def request_from_chat(self, chat: Json, deployment: DeploymentView, default_max_tokens: int) -> Json:
        """A chat completion request as this provider's request (raises WireError)."""
        ...

    def response_to_chat(self, raw: bytes, deployment: DeploymentView) -> Json:
        """This provider's whole answer as a chat completion (raises ValueError when malformed)."""
        ...

    def decoder(self, deployment: DeploymentView, max_event_bytes: int) -> ChunkDecoder:
        """A decoder of this provider's stream into chat completion chunks."""
        ...

    def error(self, status: int, raw: bytes, headers: Mapping[str, str]) -> ErrorInfo | None:
        """What an error answer says (None: not in the provider's error shape)."""
        ...
