"""OpenAI's chat completions on the wire, for the translated paths.

Chat completions is the canonical form, so a chat client and an OpenAI-compatible upstream need no
translation: those bytes pass through (:mod:`headwater.gateway.sse`). This module serves the other
pairs: an OpenAI-compatible upstream answering a client of another API (:class:`ChatDecoder` reads
its stream into chunks), and a chat client answered by an upstream of another wire
(:class:`ChatEncoder` writes chunks as OpenAI's stream, :func:`response_bytes` a whole answer).
"""

from __future__ import annotations

from typing import Any

import orjson

from headwater.errors import error_body
from headwater.gateway.sse import EventSplitter
from headwater.gateway.wire.base import Json

_DONE = b"[DONE]"


class ChatDecoder:
    """An OpenAI-compatible upstream's stream → chat completion chunks."""

    def __init__(self, max_event_bytes: int) -> None:
        self._splitter = EventSplitter(max_event_bytes)
        self.usage: Json | None = None
        self.done = False
        self.failure: tuple[str, str] | None = None

    @property
    def too_large(self) -> bool:
        return self._splitter.too_large

    def feed(self, data: bytes) -> list[Json]:
        chunks: list[Json] = []
        for event in self._splitter.feed(data):
            for line in event.split(b"\n"):
                if not line.startswith(b"data:"):
                    continue
                value = line[5:].strip()
                if value == _DONE:
                    self.done = True
                    continue
                try:
                    chunk: Any = orjson.loads(value)
                except orjson.JSONDecodeError:
                    self.failure = (
                        "The upstream sent a stream event that is not JSON.",
                        "bad_upstream_response",
                    )
                    return chunks
                if not isinstance(chunk, dict):
                    continue
                error = chunk.get("error")
                if isinstance(error, dict):
                    message = error.get("message")
                    self.failure = (
                        str(message) if message else "The upstream failed.",
                        "bad_upstream_response",
                    )
                    return chunks
                usage = chunk.get("usage")
                if isinstance(usage, dict):
                    self.usage = usage
                chunks.append(chunk)
        return chunks


class ChatEncoder:
    """Chat completion chunks → OpenAI's stream, for a chat client of a translated upstream."""

    def __init__(self, model: str, *, include_usage: bool) -> None:
        self._model = model
        self._include_usage = include_usage
        self._usage_sent = False

    def chunk(self, chunk: Json) -> bytes:
        if isinstance(chunk.get("usage"), dict):
            if not self._include_usage:
                if not chunk.get("choices"):
                    return b""
                chunk = {**chunk, "usage": None}
            else:
                self._usage_sent = True
        return b"data: " + orjson.dumps({**chunk, "model": self._model}) + b"\n\n"

    def end(self, usage: Json | None) -> bytes:
        if usage is not None and self._include_usage and not self._usage_sent:
            tail = {"object": "chat.completion.chunk", "model": self._model, "choices": [], "usage": usage}
            return b"data: " + orjson.dumps(tail) + b"\n\ndata: [DONE]\n\n"
        return b"data: [DONE]\n\n"

    def cut(self, message: str, code: str) -> bytes:
        return b"data: " + error_body(message, "api_error", code) + b"\n\n"


def error_fields(raw: bytes) -> dict[str, Any] | None:
    """The ``error`` object of an OpenAI-shaped error body, if that is what ``raw`` is."""
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        fields: dict[str, Any] = data["error"]
        return fields
    return None
