"""Anthropic's Messages stream both ways: chat chunks to Messages events, and Messages events to chunks.

:class:`MessagesEncoder` (a client asked ``/v1/messages`` with ``stream: true``) writes events
exactly as Anthropic sends them, ``event: NAME\\ndata: JSON\\n\\n``: ``message_start`` (usage zero
until known), then per content block ``content_block_start``, its deltas (``text_delta``,
``input_json_delta``) and ``content_block_stop`` (text, then one block per tool call, indexes in
order), then ``message_delta`` (stop reason, final usage) and ``message_stop``. Chunks may come in
any split: role-only deltas, empty content, arguments in many pieces, a tool call whose name comes
after its first piece (held until named), usage after the finish. A piece for a tool call whose
block another block already followed (no known server sends one) goes to that block's index. A
tool call whose arguments are not a JSON object ends the stream with an ``error`` event (the
upstream's fault, as in :func:`.anthropic_response.tool_input`), never an ``input`` the model did
not write.

:class:`MessagesDecoder` (an Anthropic upstream behind a chat request) reads Anthropic's stream in
any byte split, ``\\r\\n`` or ``\\n``, memory bounded by :class:`~headwater.gateway.sse.EventSplitter`,
and yields chat chunks; thinking deltas are dropped, ``ping`` ignored, an ``error`` event becomes
``failure``. :class:`MessagesUsage` finds the usage in a passed-through Anthropic stream.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import orjson

from headwater.clock import epoch
from headwater.gateway.sse import EVENT_TOO_LARGE, EventSplitter
from headwater.gateway.wire.anthropic_native import FINISH_REASONS, UsageCounts
from headwater.gateway.wire.anthropic_response import message_id, stop_reason, tool_input, usage_from_chat
from headwater.gateway.wire.base import Json, WireError

#: Anthropic's error types: a cut whose code is one of them keeps it.
_ERROR_TYPES = frozenset(
    {
        "invalid_request_error", "authentication_error", "billing_error", "permission_error",
        "not_found_error", "request_too_large", "rate_limit_error", "timeout_error", "api_error",
        "overloaded_error",
    }
)  # fmt: skip
_CUT_TYPES = {
    "rate_limit_exceeded": "rate_limit_error",
    "insufficient_quota": "rate_limit_error",
    "upstream_timeout": "timeout_error",
    "upstream_deadline_exceeded": "timeout_error",
}


def sse(name: str, data: Json) -> bytes:
    """One event as Anthropic writes it."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def error_event(message: str, code: str) -> bytes:
    """The ``error`` event ending a stream cut short (``code``: an Anthropic error type or a gateway code)."""
    kind = code if code in _ERROR_TYPES else _CUT_TYPES.get(code, "api_error")
    return sse("error", {"type": "error", "error": {"type": kind, "message": message}})


@dataclass(slots=True)
class _Tool:
    block: int | None = None  # the content block's index, once started
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


class MessagesEncoder:
    """Chat completion chunks → Anthropic Messages stream events (an :class:`EventEncoder`)."""

    def __init__(self, model: str) -> None:
        self._model = model
        self._started = False
        self._closed = False
        self._open: int | None = None  # the open content block's index
        self._text_block: int | None = None
        self._blocks = 0
        self._tools: dict[int, _Tool] = {}
        self._finish: str | None = None
        self._stop_sequence: str | None = None
        self._usage: Json | None = None

    def chunk(self, chunk: Json) -> bytes:
        if self._closed:
            return b""
        out = bytearray(self._start(chunk.get("id")))
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            delta = delta if isinstance(delta, dict) else {}
            for key in ("content", "refusal"):
                if isinstance(delta.get(key), str) and delta[key]:
                    out += self._text(delta[key])
            calls = delta.get("tool_calls")
            for call in calls if isinstance(calls, list) else []:
                if isinstance(call, dict):
                    out += self._tool(call)
            if isinstance(choice.get("finish_reason"), str):
                self._finish = choice["finish_reason"]
                matched = choice.get("stop_reason")  # vLLM: the stop string that ended the text
                self._stop_sequence = matched if isinstance(matched, str) and self._finish == "stop" else None
        return bytes(out)

    def end(self, usage: Json | None) -> bytes:
        if self._closed:
            return b""
        out = bytearray(self._start(None))
        for position, tool in sorted(self._tools.items()):
            try:
                if tool.block is None:
                    raise WireError("a tool call has no name.")
                tool_input("".join(tool.arguments), f"tool_calls[{position}].function.arguments")
            except WireError as error:
                return bytes(out) + self.cut(
                    f"The upstream's answer is malformed: {error.message}", "api_error"
                )
        out += self._close()
        self._closed = True
        counts = usage_from_chat(usage if usage is not None else self._usage)
        reason = (
            "stop_sequence"
            if self._stop_sequence
            else stop_reason(self._finish, tool_calls=bool(self._tools))
        )
        out += sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": self._stop_sequence},
                "usage": counts,
            },
        )
        out += sse("message_stop", {"type": "message_stop"})
        return bytes(out)

    def cut(self, message: str, code: str) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        return error_event(message, code)

    def _start(self, chat_id: object) -> bytes:
        if self._started:
            return b""
        self._started = True
        message: Json = {
            "id": message_id(chat_id),
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return sse("message_start", {"type": "message_start", "message": message})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        index, self._open = self._open, None
        return sse("content_block_stop", {"type": "content_block_stop", "index": index})

    def _begin(self, block: Json) -> tuple[int, bytes]:
        out = self._close()
        index = self._blocks
        self._blocks += 1
        self._open = index
        start = {"type": "content_block_start", "index": index, "content_block": block}
        return index, out + sse("content_block_start", start)

    def _text(self, text: str) -> bytes:
        out = b""
        if self._text_block is None or self._open != self._text_block:
            self._text_block, out = self._begin({"type": "text", "text": ""})
        delta = {"type": "text_delta", "text": text}
        return out + sse(
            "content_block_delta", {"type": "content_block_delta", "index": self._text_block, "delta": delta}
        )

    def _tool(self, call: Json) -> bytes:
        position = call.get("index", 0)
        position = position if isinstance(position, int) else 0
        tool = self._tools.setdefault(position, _Tool())
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        if tool.id is None and isinstance(call.get("id"), str) and call["id"]:
            tool.id = call["id"]
        if tool.name is None and isinstance(function.get("name"), str) and function["name"]:
            tool.name = function["name"]
        piece = function.get("arguments")
        pieces = [piece] if isinstance(piece, str) and piece else []
        out = b""
        if tool.block is None:
            tool.arguments += pieces
            if tool.name is None:
                return out  # held until named
            block = {"type": "tool_use", "id": tool.id or "toolu_" + secrets.token_hex(12), "name": tool.name}
            tool.block, out = self._begin({**block, "input": {}})
            pieces = tool.arguments[:]
        else:
            tool.arguments += pieces
        for text in pieces:
            delta = {"type": "input_json_delta", "partial_json": text}
            out += sse(
                "content_block_delta", {"type": "content_block_delta", "index": tool.block, "delta": delta}
            )
        return out


def _parse(event: bytes) -> tuple[str | None, Json | None, bool]:
    """``(type, data, valid)`` of one event: the data's ``type`` (else the ``event:`` name)."""
    name: str | None = None
    lines: list[bytes] = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            lines.append(line[6:] if line.startswith(b"data: ") else line[5:])
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode("utf-8", "replace")
    if not lines:
        return name, None, True
    try:
        data = orjson.loads(b"\n".join(lines))
    except orjson.JSONDecodeError:
        return name, None, False
    if not isinstance(data, dict):
        return name, None, False
    kind = data.get("type")
    return (kind if isinstance(kind, str) else name), data, True


class MessagesDecoder:
    """Anthropic's Messages stream → chat completion chunks (a :class:`ChunkDecoder`)."""

    def __init__(self, max_event_bytes: int) -> None:
        self._splitter = EventSplitter(max_event_bytes)
        self._max = max_event_bytes
        self.usage: Json | None = None
        self.done = False
        self.failure: tuple[str, str] | None = None
        self._counts = UsageCounts()
        self._id = "msg"
        self._model = ""
        self._created = int(epoch())
        self._tools: dict[int, int] = {}  # content block index → chat tool call index

    def feed(self, data: bytes) -> list[Json]:
        if self.done or self.failure is not None:
            return []
        chunks: list[Json] = []
        for event in self._splitter.feed(data):
            self._event(event, chunks)
            if self.done or self.failure is not None:
                return chunks
        if self._splitter.too_large:
            self.failure = (f"The upstream sent an event larger than {self._max} bytes.", EVENT_TOO_LARGE)
        return chunks

    def _chunk(self, delta: Json, finish: str | None = None) -> Json:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _event(self, event: bytes, chunks: list[Json]) -> None:
        kind, data, valid = _parse(event)
        if not valid:
            self.failure = ("The upstream sent an event that is not valid JSON.", "bad_upstream_response")
            return
        if data is None or kind == "ping":
            return
        if kind == "message_start":
            message = data.get("message")
            message = message if isinstance(message, dict) else {}
            self._id = str(message.get("id") or self._id)
            self._model = str(message.get("model") or self._model)
            self._usage(message.get("usage"))
            chunks.append(self._chunk({"role": "assistant", "content": ""}))
        elif kind == "content_block_start":
            block = data.get("content_block")
            index = data.get("index")
            if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(index, int):
                position = self._tools[index] = len(self._tools)
                function = {"name": block.get("name"), "arguments": ""}
                call = {"index": position, "id": block.get("id"), "type": "function", "function": function}
                if isinstance(block.get("input"), dict) and block["input"]:
                    function["arguments"] = orjson.dumps(block["input"]).decode()
                chunks.append(self._chunk({"tool_calls": [call]}))
            elif isinstance(block, dict) and block.get("type") == "text" and block.get("text"):
                chunks.append(self._chunk({"content": block["text"]}))
        elif kind == "content_block_delta":
            delta = data.get("delta")
            delta = delta if isinstance(delta, dict) else {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                chunks.append(self._chunk({"content": delta["text"]}))
            elif delta.get("type") == "input_json_delta":
                tool = self._tools.get(data["index"]) if isinstance(data.get("index"), int) else None
                piece = delta.get("partial_json")
                if tool is not None and isinstance(piece, str) and piece:
                    call = {"index": tool, "function": {"arguments": piece}}
                    chunks.append(self._chunk({"tool_calls": [call]}))
            # thinking, signature and citations deltas: never asked for, never shown
        elif kind == "message_delta":
            self._usage(data.get("usage"))
            delta = data.get("delta")
            reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            if isinstance(reason, str):
                chunks.append(self._chunk({}, FINISH_REASONS.get(reason, "stop")))
        elif kind == "message_stop":
            self.done = True
            final = self._chunk({})
            final["choices"] = []
            final["usage"] = self.usage if self.usage is not None else self._counts.chat()
            chunks.append(final)
        elif kind == "error":
            error = data.get("error")
            error = error if isinstance(error, dict) else {}
            message = error.get("message")
            code = error.get("type")
            self.failure = (
                message if isinstance(message, str) and message else "The upstream reported an error.",
                code if isinstance(code, str) and code else "api_error",
            )

    def _usage(self, usage: object) -> None:
        if isinstance(usage, dict):
            self._counts.update(usage)
            self.usage = self._counts.chat()


class MessagesUsage:
    """The usage of a passed-through Anthropic stream, an event at a time (a :class:`UsageSniffer`)."""

    def __init__(self) -> None:
        self.usage: Json | None = None
        self.done = False
        self._counts = UsageCounts()

    def event(self, event: bytes) -> None:
        if b"message_stop" in event:
            kind, _, _ = _parse(event)
            self.done = self.done or kind == "message_stop"
            return
        if b'"usage"' not in event:
            return
        kind, data, _ = _parse(event)
        if data is None:
            return
        if kind == "message_start":
            message = data.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
        elif kind == "message_delta":
            usage = data.get("usage")
        else:
            return
        if isinstance(usage, dict):
            self._counts.update(usage)
            self.usage = self._counts.chat()
