"""Streams of OpenAI's Responses API: chat chunks encoded as its events, and passed-through ones read.

:class:`ResponsesEncoder` writes what OpenAI sends (``event: TYPE\\ndata: JSON\\n\\n``, every event
with its ``type`` and an increasing ``sequence_number`` from 0): ``response.created`` and
``response.in_progress``; per output item ``response.output_item.added``, its content parts
(``response.content_part.added``, the ``…delta`` events, ``…done``, ``response.content_part.done``)
or, for a function call, ``response.function_call_arguments.delta``/``.done``; then
``response.output_item.done``; and last ``response.completed`` (``response.incomplete`` on a
``length`` or ``content_filter`` finish) with the whole Response, usage included, also kept in
:attr:`ResponsesEncoder.response`. Text, refusals and reasoning (``reasoning_content``) open a
message or reasoning item, closed when another item begins; function calls stay open until the
finish (an upstream may interleave their arguments) and close in order. A stream cut short ends with
an ``error`` event: its ``code``, ``message`` and ``param`` at the top (OpenAI's documented shape,
which the ``openai`` SDK's ``ResponseErrorEvent`` reads) and again in an ``error`` object (the shape
OpenAI's servers send, on which the Python SDK raises ``APIError``).

:class:`ResponsesUsage` watches a Responses stream passed through untouched: the final event
(``response.completed``, ``response.incomplete`` or ``response.failed``) gives the usage, the final
Response and the end of the stream; an ``error`` event or a failed response gives ``failure``. Only
events that may be one of those are parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from headwater.gateway.wire.base import Json
from headwater.gateway.wire.responses_output import (
    INCOMPLETE,
    call_item,
    chat_usage_to_responses,
    message_item,
    new_id,
    reasoning_item,
    response_object,
    text_part,
    usage_of_response,
)

#: A content part's kind → the events its text travels in, and the field that holds the whole text.
_PART_EVENTS = {
    "output_text": ("response.output_text", "text"),
    "refusal": ("response.refusal", "refusal"),
    "reasoning_text": ("response.reasoning_text", "text"),
}


@dataclass(slots=True)
class _Item:
    kind: str  # message | reasoning | function_call
    id: str
    index: int
    parts: list[tuple[str, list[str]]] = field(default_factory=list)  # (part kind, text pieces)
    part_open: bool = False
    call_id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    open: bool = True

    def wire(self, status: str) -> Json:
        if self.kind == "function_call":
            return call_item(self.id, status, self.call_id, self.name, "".join(self.arguments))
        content = [text_part(kind, "".join(pieces)) for kind, pieces in self.parts]
        if self.kind == "reasoning":
            return reasoning_item(self.id, status, content)
        return message_item(self.id, status, content)


class ResponsesEncoder:
    """Chat completion chunks → the Responses API's stream (see the module's docstring)."""

    def __init__(self, request: Json, response_id: str, created_at: int, model: str) -> None:
        self._request = request
        self._id = response_id
        self._created_at = created_at
        self._model = model
        self._sequence = 0
        self._started = False
        self._over = False
        self._items: list[_Item] = []
        self._text: _Item | None = None
        self._calls: dict[int, _Item] = {}
        self._finish: str | None = None
        self._usage: Json | None = None
        #: The final Response (completed, incomplete, or failed when cut), once the stream is over.
        self.response: Json | None = None

    def _event(self, kind: str, fields: Json) -> bytes:
        data = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    def _response(self, status: str, output: list[Json], usage: Json | None, **extra: Any) -> Json:
        return response_object(
            self._request,
            self._id,
            self._created_at,
            self._model,
            status=status,
            output=output,
            usage=usage,
            **extra,
        )

    def start(self) -> bytes:
        """The opening events (sent by the first :meth:`chunk` or :meth:`end` when not yet sent)."""
        if self._started:
            return b""
        self._started = True
        shell = self._response("in_progress", [], None)
        return self._event("response.created", {"response": shell}) + self._event(
            "response.in_progress", {"response": shell}
        )

    def chunk(self, chunk: Json) -> bytes:
        if self._over:
            return b""
        out = [self.start()]
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self._delta(delta, out)
            finish = choice.get("finish_reason")
            if isinstance(finish, str) and finish:
                self._finish = finish
                self._close_all(out)
        return b"".join(out)

    def _delta(self, delta: Json, out: list[bytes]) -> None:
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            self._write("reasoning", "reasoning_text", reasoning, out)
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._write("message", "output_text", content, out)
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            self._write("message", "refusal", refusal, out)
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            if isinstance(call, dict):
                self._call(call, out)

    def _open(self, kind: str, prefix: str) -> _Item:
        item = _Item(kind, new_id(prefix), len(self._items))
        self._items.append(item)
        return item

    def _added(self, item: _Item, out: list[bytes]) -> None:
        out.append(
            self._event(
                "response.output_item.added", {"output_index": item.index, "item": item.wire("in_progress")}
            )
        )

    def _write(self, kind: str, part_kind: str, text: str, out: list[bytes]) -> None:
        item = self._text
        if item is None or item.kind != kind:
            self._close_text(out)
            item = self._open(kind, "msg" if kind == "message" else "rs")
            self._added(item, out)
            self._text = item
        if not item.part_open or item.parts[-1][0] != part_kind:
            self._close_part(item, out)
            item.parts.append((part_kind, []))
            item.part_open = True
            out.append(
                self._event(
                    "response.content_part.added",
                    {
                        **self._at(item),
                        "content_index": len(item.parts) - 1,
                        "part": text_part(part_kind, ""),
                    },
                )
            )
        item.parts[-1][1].append(text)
        name, _ = _PART_EVENTS[part_kind]
        fields = {**self._at(item), "content_index": len(item.parts) - 1, "delta": text}
        if part_kind == "output_text":
            fields["logprobs"] = []
        out.append(self._event(name + ".delta", fields))

    def _call(self, call: Json, out: list[bytes]) -> None:
        index = call.get("index", 0)
        index = index if isinstance(index, int) else 0
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        name = function.get("name")
        item = self._calls.get(index)
        if item is None or not item.open:
            self._close_text(out)
            item = self._open("function_call", "fc")
            call_id = call.get("id")
            item.call_id = call_id if isinstance(call_id, str) and call_id else new_id("call")
            item.name = name if isinstance(name, str) else ""
            self._calls[index] = item
            self._added(item, out)
        elif not item.name and isinstance(name, str):
            item.name = name
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item.arguments.append(arguments)
            out.append(
                self._event("response.function_call_arguments.delta", {**self._at(item), "delta": arguments})
            )

    @staticmethod
    def _at(item: _Item) -> Json:
        return {"item_id": item.id, "output_index": item.index}

    def _close_part(self, item: _Item, out: list[bytes]) -> None:
        if not item.part_open:
            return
        item.part_open = False
        kind, pieces = item.parts[-1]
        name, key = _PART_EVENTS[kind]
        text = "".join(pieces)
        at = {**self._at(item), "content_index": len(item.parts) - 1}
        done = {**at, key: text}
        if kind == "output_text":
            done["logprobs"] = []
        out.append(self._event(name + ".done", done))
        out.append(self._event("response.content_part.done", {**at, "part": text_part(kind, text)}))

    def _status(self) -> str:
        return "incomplete" if self._finish in INCOMPLETE else "completed"

    def _close(self, item: _Item, out: list[bytes]) -> None:
        if not item.open:
            return
        item.open = False
        if item.kind == "function_call":
            out.append(
                self._event(
                    "response.function_call_arguments.done",
                    {**self._at(item), "name": item.name, "arguments": "".join(item.arguments)},
                )
            )
        else:
            self._close_part(item, out)
        out.append(
            self._event(
                "response.output_item.done", {"output_index": item.index, "item": item.wire(self._status())}
            )
        )

    def _close_text(self, out: list[bytes]) -> None:
        if self._text is not None:
            self._close(self._text, out)
            self._text = None

    def _close_all(self, out: list[bytes]) -> None:
        self._close_text(out)
        for item in self._items:
            self._close(item, out)

    def end(self, usage: Json | None) -> bytes:
        if self._over:
            return b""
        out = [self.start()]
        self._close_all(out)
        if not self._items:  # an empty answer is still a message, as in a whole response
            item = self._open("message", "msg")
            self._added(item, out)
            item.parts.append(("output_text", []))
            item.part_open = True
            out.append(
                self._event(
                    "response.content_part.added",
                    {**self._at(item), "content_index": 0, "part": text_part("output_text", "")},
                )
            )
            self._close(item, out)
        self._over = True
        usage = usage if usage is not None else self._usage
        incomplete = INCOMPLETE.get(self._finish or "")
        status = self._status()
        self.response = self._response(
            status,
            [item.wire(status) for item in self._items],
            chat_usage_to_responses(usage) if usage is not None else None,
            incomplete=incomplete,
        )
        out.append(self._event(f"response.{status}", {"response": self.response}))
        return b"".join(out)

    def cut(self, message: str, code: str) -> bytes:
        if self._over:
            return b""
        self._over = True
        output = [item.wire("incomplete" if item.open else self._status()) for item in self._items]
        error = {"code": "server_error", "message": message}
        self.response = self._response(
            "failed", output, chat_usage_to_responses(self._usage) if self._usage else None, error=error
        )
        fields = {"code": code, "message": message, "param": None}
        return self._event("error", {**fields, "error": {"type": "api_error", **fields}})


_FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_MARKERS = (b"response.completed", b"response.incomplete", b"response.failed", b'"error"')


class ResponsesUsage:
    """The usage, final Response and end of a passed-through Responses stream (see the docstring)."""

    def __init__(self) -> None:
        self.usage: Json | None = None
        self.done = False
        #: The final event's Response, once seen.
        self.response: Json | None = None
        #: ``(message, code)`` when the stream reported an error or a failed response.
        self.failure: tuple[str, str] | None = None

    def event(self, event: bytes) -> None:
        if not any(marker in event for marker in _MARKERS):
            return
        lines = [line[5:] for line in event.split(b"\n") if line.startswith(b"data:")]
        try:
            data: Any = orjson.loads(b"\n".join(lines))
        except orjson.JSONDecodeError:
            return
        if not isinstance(data, dict):
            return
        kind = data.get("type")
        if kind in _FINAL:
            response = data.get("response")
            if isinstance(response, dict):
                self.response = response
                self.usage = usage_of_response(response) or self.usage
                if kind == "response.failed":
                    self.failure = _failure(response.get("error"), "The upstream's response failed.")
            self.done = True
        elif kind == "error":
            nested = data.get("error")
            self.failure = _failure(nested if isinstance(nested, dict) else data, "The upstream failed.")


def _failure(error: Any, fallback: str) -> tuple[str, str]:
    if not isinstance(error, dict):
        return fallback, "upstream_error"
    message, code = error.get("message"), error.get("code")
    return (message if isinstance(message, str) and message else fallback), (
        code if isinstance(code, str) and code else "upstream_error"
    )
