"""The interfaces every wire protocol module implements, and the translation error.

Canonical form: an OpenAI chat completion request (``dict``), response (``chat.completion``) and
stream chunk (``chat.completion.chunk``; the last chunk of a stream carries ``usage`` and no
choices). Usage is always given in OpenAI's shape: ``{"prompt_tokens": int, "completion_tokens":
int, "total_tokens": int}`` (cached or cache-written input tokens are counted in ``prompt_tokens``).

- A **client-facing** protocol (Responses, Anthropic Messages) turns its request into a chat request,
  a chat response into its response, and chat chunks into its stream events (:class:`EventEncoder`).
- An **upstream-facing** protocol (Anthropic Messages, Bedrock Converse) turns a chat request into
  its request, its response into a chat response, and its stream into chat chunks
  (:class:`ChunkDecoder`).
- A protocol that can be passed through untouched (client and upstream speak it) tells the gateway
  where the usage is in its responses and streams (:class:`UsageSniffer`).
"""

from __future__ import annotations

from typing import Any, Protocol

Json = dict[str, Any]


class WireError(Exception):
    """A request that is malformed, or that cannot be translated faithfully for the upstream.

    The gateway answers it with 400 in the client's API's own error shape, naming ``param`` (a
    dotted/indexed path such as ``input[2].content`` or ``messages[0].content[1].source``)."""

    def __init__(self, message: str, *, param: str | None = None, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class ChunkDecoder(Protocol):
    """An upstream's streamed body, fed as it comes, turned into chat completion chunks."""

    #: OpenAI-shaped usage once the stream has reported it, else None.
    usage: Json | None
    #: Whether the upstream ended the stream cleanly (its own end marker was seen).
    done: bool
    #: ``(message, code)`` when the upstream reported an error inside the stream.
    failure: tuple[str, str] | None

    def feed(self, data: bytes) -> list[Json]:
        """The chunks completed by ``data`` (any split of the body: partial events wait)."""
        ...


class EventEncoder(Protocol):
    """Chat completion chunks turned into the client's stream events, as bytes to send."""

    def chunk(self, chunk: Json) -> bytes:
        """The events for one chat chunk (may be ``b""``; a usage-only chunk is remembered)."""
        ...

    def end(self, usage: Json | None) -> bytes:
        """The events that end a complete stream (final usage, stop reason, the end marker)."""
        ...

    def cut(self, message: str, code: str) -> bytes:
        """The terminal error event of a stream cut short, in this API's shape."""
        ...


class UsageSniffer(Protocol):
    """Finds the usage in a passed-through stream, one complete event at a time."""

    #: OpenAI-shaped usage once seen (merged over the events that carry parts of it), else None.
    usage: Json | None
    #: Whether the stream's own end marker was seen.
    done: bool

    def event(self, event: bytes) -> None:
        """Look at one complete event (``\\n\\n``-terminated bytes, as sent)."""
        ...
