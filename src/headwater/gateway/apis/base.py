"""What the proxy's pipeline asks of a client API.

A client API parses its request (:meth:`ClientApi.parse`, errors in its own shape), says how a
request goes untranslated to an upstream that speaks it (:meth:`ClientApi.native_body`) and how it is
answered then (its usage: :meth:`native_usage`, :meth:`sniffer`), and how a chat completion
(whole or streamed) from a translated upstream is turned into its answer (:meth:`from_chat`,
:meth:`encoder`). Errors, including a stream's terminal event, come out in its own shape.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from headwater.errors import BadRequest, GatewayError
from headwater.gateway.wire.base import EventEncoder, Json, UsageSniffer, WireError
from headwater.snapshot import DeploymentView, KeyView

if TYPE_CHECKING:
    from headwater.gateway.accounting import Call

log = logging.getLogger("headwater.gateway")


@dataclass(slots=True)
class Inbound:
    """A parsed request: as the client sent it, and as a chat completion request."""

    native: Json
    #: The body's bytes as they came (sent on unchanged when nothing needs changing).
    raw: bytes
    model: str
    stream: bool
    #: The chat completion request it translates to (for an OpenAI client: the request itself).
    chat: Json
    #: Why it cannot be translated faithfully (then only an upstream that speaks it may serve it).
    untranslatable: WireError | None = None
    #: Responses API: the earlier conversation (``previous_response_id`` expanded), as input items.
    history: list[Json] = field(default_factory=list)
    #: Anything the API keeps between its hooks (ids, timestamps).
    extra: dict[str, Any] = field(default_factory=dict)


def bad_request(error: WireError) -> BadRequest:
    return BadRequest(error.message, code=error.code, param=error.param)


class ClientApi(Protocol):
    #: The operation (and the usage event's ``endpoint``): chat, completions, embeddings, responses,
    #: messages.
    operation: str
    #: Model kinds it serves.
    kinds: frozenset[str]

    def parse(self, raw: bytes) -> Inbound:
        """The request, checked (:class:`BadRequest` naming the field)."""
        ...

    def error_body(self, error: GatewayError) -> bytes:
        """An error in this API's own shape."""
        ...

    def relayed_error(
        self, status: int, message: str, type_: str | None, code: str | None, param: str | None
    ) -> bytes:
        """An upstream's error (already scrubbed), in this API's own shape."""
        ...

    async def prepare(self, inbound: Inbound, key: KeyView) -> None:
        """Before admission (the Responses API loads the earlier conversation here, and translates)."""
        ...

    def native_body(self, inbound: Inbound, deployment: DeploymentView, max_tokens: int | None) -> bytes:
        """The body for an upstream that speaks this API (``max_tokens``: the output bound to set
        when the client gave none)."""
        ...

    def native_usage(self, data: Json) -> Json | None:
        """The usage (OpenAI's shape) of an untranslated whole answer."""
        ...

    def sniffer(self) -> UsageSniffer | None:
        """What finds the usage in an untranslated stream (None: OpenAI's stream, relayed by
        :mod:`headwater.gateway.sse`)."""
        ...

    def from_chat(self, chat: Json, inbound: Inbound, model: str) -> Json:
        """A translated upstream's whole answer, as this API answers."""
        ...

    def encoder(self, inbound: Inbound, model: str) -> EventEncoder:
        """What writes a translated upstream's stream in this API's events."""
        ...

    def cut(self, message: str, code: str) -> bytes:
        """The terminal event of an untranslated stream cut short."""
        ...

    async def finish(self, inbound: Inbound, call: Call, answer: Json | None) -> None:
        """After a successful answer (the Responses API stores it here)."""
        ...


async def finish(api: ClientApi, inbound: Inbound, call: Call, answer: Json | None) -> None:
    """The API's after-answer hook (the Responses API stores the answer); a failure there (a store
    that is unreachable) is logged and never turns an answer into an error."""
    try:
        await api.finish(inbound, call, answer)
    except Exception:
        log.exception("request %s: storing its answer failed", call.request_id)
