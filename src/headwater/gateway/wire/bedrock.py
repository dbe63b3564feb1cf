"""AWS Bedrock's Converse and ConverseStream APIs on the wire (upstream side only; pure, no I/O).

- :func:`request_from_chat` (from :mod:`.bedrock_request`): a chat completion request as a Converse
  body; what Converse cannot honour is a :class:`WireError` naming the parameter.
- :func:`response_to_chat`: a Converse response as a ``chat.completion`` (text blocks joined,
  ``toolUse`` blocks as ``tool_calls``, ``stopReason`` as ``finish_reason``, usage in OpenAI's shape
  with cache reads and writes counted as prompt tokens); a malformed one raises ``ValueError``.
- :class:`ConverseStreamDecoder`: ConverseStream's ``application/vnd.amazon.eventstream`` body as chat
  chunks. Frames are parsed by botocore's ``EventStreamBuffer`` (prelude and message CRCs checked
  there); this module only reads the events. A frame that declares more than ``max_event_bytes``
  ends the stream as soon as its prelude is in (:data:`EVENT_TOO_LARGE`), so memory holds at most
  that bound plus one read; an exception frame (throttling, model error...) is a ``failure``.
- :func:`error_fields` and :func:`error_status`: an error answer (``{"message": ...}`` with the type
  in the ``x-amzn-ErrorType`` header) read, and the HTTP status its type means for a client.
"""

from __future__ import annotations

import struct
import time
import uuid
from typing import Any

import orjson
from botocore.eventstream import (  # type: ignore[import-untyped]
    DecodeUtils,
    EventStreamBuffer,
    InvalidHeadersLength,
    InvalidPayloadLength,
    ParserError,
)

from headwater.gateway.wire.base import Json
from headwater.gateway.wire.bedrock_request import request_from_chat

__all__ = ["ConverseStreamDecoder", "error_fields", "error_status", "request_from_chat", "response_to_chat"]

#: The failure code of a stream frame over the bound (the same as the SSE relay's).
EVENT_TOO_LARGE = "upstream_event_too_large"
BAD_RESPONSE = "bad_upstream_response"
_PRELUDE = 12
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
#: Stream exception frames (``:exception-type``) → the failure code the client sees.
_STREAM_CODES = {
    "throttlingException": "rate_limit_exceeded",
    "serviceUnavailableException": "upstream_unavailable",
    "modelStreamErrorException": "upstream_model_error",
    "validationException": "invalid_request",
    "internalServerException": BAD_RESPONSE,
}
#: Error types whose meaning for a client is not the status Bedrock answered them with.
_STATUS = {
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 429,
    "ModelNotReadyException": 503,
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "IncompleteSignatureException": 403,
    "MissingAuthenticationTokenException": 403,
    "ExpiredTokenException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 504,
    "ModelErrorException": 502,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}


def finish_reason(stop_reason: Any) -> str:
    """A Converse ``stopReason`` as a chat ``finish_reason`` (an unknown one ends as ``stop``)."""
    return _FINISH.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def usage(native: Any) -> Json:
    """Converse's ``usage`` in OpenAI's shape (raises ValueError when it is not Converse's shape)."""
    if not isinstance(native, dict):
        raise ValueError("the response has no usage")
    counts = []
    for key in ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens"):
        value = native.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"usage.{key} is not a count")
        counts.append(value)
    fresh, completion, read, written = counts
    prompt = fresh + read + written
    result: Json = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if read:
        result["prompt_tokens_details"] = {"cached_tokens": read}
    return result


def _chat_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def response_to_chat(native: Json, model: str) -> Json:
    """A Converse response as a chat completion (raises ValueError when it is malformed)."""
    output = native.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        raise ValueError("the response has no output.message.content")
    texts: list[str] = []
    calls: list[Json] = []
    for block in content:
        if not isinstance(block, dict):
            raise ValueError("a content block is not an object")
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block.get("toolUse"), dict):
            tool = block["toolUse"]
            if not isinstance(tool.get("toolUseId"), str) or not isinstance(tool.get("name"), str):
                raise ValueError("a toolUse block has no toolUseId or name")
            arguments = orjson.dumps(tool.get("input", {})).decode()
            calls.append(
                {
                    "id": tool["toolUseId"],
                    "type": "function",
                    "function": {"name": tool["name"], "arguments": arguments},
                }
            )
        # reasoning, citations and other blocks have no place in a chat completion's message
    answer: Json = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
    }
    if calls:
        answer["tool_calls"] = calls
    return {
        "id": _chat_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": answer,
                "finish_reason": finish_reason(native.get("stopReason")),
                "logprobs": None,
            }
        ],
        "usage": usage(native.get("usage")),
    }


class ConverseStreamDecoder:
    """ConverseStream's event stream → chat completion chunks (the last one carries the usage)."""

    def __init__(self, max_event_bytes: int, model: str = "") -> None:
        self.usage: Json | None = None
        self.done = False
        self.failure: tuple[str, str] | None = None
        self._max = max_event_bytes
        self._model = model
        self._id = _chat_id()
        self._created = int(time.time())
        self._buffer = EventStreamBuffer()
        self._pending = 0  # bytes of the frame in progress held by the buffer
        self._head = b""  # its first bytes, up to its prelude
        self._tools: dict[int, int] = {}  # contentBlockIndex → tool_calls index

    def feed(self, data: bytes) -> list[Json]:
        if self.done or self.failure is not None or not data:
            return []
        self._buffer.add_data(data)
        self._pending += len(data)
        if len(self._head) < _PRELUDE:
            self._head = (self._head + data[:_PRELUDE])[:_PRELUDE]
        chunks: list[Json] = []
        consumed = False
        try:
            for message in self._buffer:
                self._pending -= message.prelude.total_length
                consumed = True
                chunks.extend(self._event(message.headers, message.payload))
                if self.done or self.failure is not None:
                    self._drop()
                    return chunks
        except (InvalidHeadersLength, InvalidPayloadLength):
            self._fail(f"Bedrock sent a stream event over the limit of {self._max} bytes.", EVENT_TOO_LARGE)
            return chunks
        except (ParserError, ValueError, KeyError, IndexError, struct.error) as exc:
            self._fail(f"Bedrock sent a malformed event stream frame ({type(exc).__name__}).", BAD_RESPONSE)
            return chunks
        if consumed:  # the frame in progress starts in this read, where the last whole one ended
            start = len(data) - self._pending
            self._head = data[start : start + _PRELUDE]
        if len(self._head) == _PRELUDE:
            (declared, _, _), _ = DecodeUtils.unpack_prelude(self._head)
            if declared > self._max:
                self._fail(
                    f"Bedrock sent a stream event of {declared} bytes, over the limit of {self._max} bytes.",
                    EVENT_TOO_LARGE,
                )
        return chunks

    def _fail(self, message: str, code: str) -> None:
        self.failure = (message, code)
        self._drop()

    def _drop(self) -> None:
        self._buffer = EventStreamBuffer()
        self._head = b""

    def _event(self, headers: dict[str, Any], payload: bytes) -> list[Json]:
        kind = headers.get(":message-type")
        if kind == "error":
            code, text = headers.get(":error-code"), headers.get(":error-message")
            self.failure = (f"Bedrock: {text or code or 'stream error'}", BAD_RESPONSE)
            return []
        try:
            body: Any = orjson.loads(payload) if payload else {}
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            self.failure = ("Bedrock sent a stream event that is not a JSON object.", BAD_RESPONSE)
            return []
        if kind == "exception":
            name = headers.get(":exception-type")
            text = body.get("message") or body.get("Message") or name or "stream exception"
            self.failure = (f"Bedrock: {text}", _STREAM_CODES.get(str(name), BAD_RESPONSE))
            return []
        if kind != "event":
            return []
        return self._converse_event(str(headers.get(":event-type")), body)

    def _converse_event(self, name: str, body: Json) -> list[Json]:
        if name == "messageStart":
            return [self._chunk({"role": "assistant", "content": ""})]
        if name == "contentBlockStart":
            tool = _obj(body.get("start")).get("toolUse")
            if not isinstance(tool, dict):
                return []
            index = self._tools.setdefault(_block(body), len(self._tools))
            function = {"name": tool.get("name"), "arguments": ""}
            call = {"index": index, "id": tool.get("toolUseId"), "type": "function", "function": function}
            return [self._chunk({"tool_calls": [call]})]
        if name == "contentBlockDelta":
            delta = _obj(body.get("delta"))
            if isinstance(delta.get("text"), str):
                return [self._chunk({"content": delta["text"]})] if delta["text"] else []
            tool = delta.get("toolUse")
            if isinstance(tool, dict):
                known = self._tools.get(_block(body))
                if known is None:
                    self.failure = ("Bedrock sent tool input for a block it never started.", BAD_RESPONSE)
                    return []
                piece = {"index": known, "function": {"arguments": str(tool.get("input", ""))}}
                return [self._chunk({"tool_calls": [piece]})]
            return []  # reasoning and citation deltas have no place in a chat chunk
        if name == "messageStop":
            return [self._chunk({}, finish_reason(body.get("stopReason")))]
        if name == "metadata":
            try:
                self.usage = usage(body.get("usage"))
            except ValueError:
                self.failure = ("Bedrock sent stream metadata without a usable usage.", BAD_RESPONSE)
                return []
            self.done = True
            return [{**self._chunk({}), "choices": [], "usage": self.usage}]
        return []  # contentBlockStop, and events newer than this module

    def _chunk(self, delta: Json, finish: str | None = None) -> Json:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }


def _obj(value: Any) -> Json:
    return value if isinstance(value, dict) else {}


def _block(event: Json) -> int:
    index = event.get("contentBlockIndex")
    return index if isinstance(index, int) else -1


def error_kind(header: str | None) -> str | None:
    """The error type named by an ``x-amzn-ErrorType`` header (``Name:namespace`` or ``ns#Name``)."""
    if not header:
        return None
    name = header.split(":", 1)[0].rsplit("#", 1)[-1].strip()
    return name or None


def error_fields(raw: bytes, error_type: str | None) -> tuple[str, str] | None:
    """``(message, error type)`` of a Bedrock error answer; None when the body is not Bedrock's shape.

    The type comes from the ``x-amzn-ErrorType`` header, else the body's ``__type``; without either
    it is ``UnknownError``."""
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    message = body.get("message", body.get("Message"))
    if not isinstance(message, str):
        return None
    typed = body.get("__type")
    kind = error_kind(error_type) or error_kind(typed if isinstance(typed, str) else None)
    return message, kind or "UnknownError"


def error_status(kind: str | None, status: int) -> int:
    """The status an error of type ``kind`` means for a client (Bedrock's own status when unknown):
    429 for throttling and quotas, 503 for a model still loading, 504 for a model timeout, 502 for a
    model's own failure."""
    return _STATUS.get(error_kind(kind) or "", status)
