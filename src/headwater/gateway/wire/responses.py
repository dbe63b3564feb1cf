"""OpenAI's Responses API (``POST /v1/responses``) for clients, translated to chat completions.

A deployment whose server implements the Responses API gets the request as it came (checked by
:func:`parse` all the same); the others get :func:`request_to_chat`'s chat request, and the client
gets :func:`response_from_chat`'s Response object, or a :class:`ResponsesEncoder`'s event stream.

What the translation promises:

- ``instructions`` become the first (system) message, then the earlier conversation (``history``, the
  items the caller expanded from ``previous_response_id``), then ``input``. A string ``input`` is one
  user message. ``developer`` messages become ``system`` ones (what chat templates know).
- ``function_call`` items become an assistant message's ``tool_calls`` (consecutive calls, and the
  assistant text right before them, make one message); ``function_call_output`` items become ``tool``
  messages; ``reasoning`` items are dropped (a chat upstream reasons afresh).
- Function tools, ``tool_choice``, ``text.format`` (→ ``response_format``), ``max_output_tokens``
  (→ ``max_tokens``), ``temperature``, ``top_p``, ``reasoning.effort`` (→ ``reasoning_effort``),
  ``user`` (or else ``safety_identifier``), ``parallel_tool_calls`` and ``stream`` (with
  ``stream_options.include_usage``) are carried over.
- ``store``, ``previous_response_id``, ``metadata``, ``include`` and ``truncation`` are the gateway's
  business and never sent; hints a chat upstream has no use for (``service_tier``,
  ``prompt_cache_key``, ``text.verbosity``, ``reasoning.summary``...) are dropped.
- Whatever a chat upstream cannot serve faithfully is refused with a :class:`WireError` naming it:
  built-in tools (web search, file search, computer use, code interpreter, MCP, ...), files and file
  ids, item types other than the above, ``conversation``, ``prompt``, ``background``,
  ``max_tool_calls``, ``top_logprobs``, and any parameter the Responses API does not define.
"""

from __future__ import annotations

from typing import Any

from headwater.gateway.wire.base import Json, WireError
from headwater.gateway.wire.responses_checks import check_item, check_request, item_type
from headwater.gateway.wire.responses_output import (
    chat_usage_to_responses,
    response_from_chat,
    usage_of_response,
)
from headwater.gateway.wire.responses_stream import ResponsesEncoder, ResponsesUsage

__all__ = [
    "ResponsesEncoder",
    "ResponsesUsage",
    "chat_usage_to_responses",
    "input_items",
    "parse",
    "request_to_chat",
    "response_from_chat",
    "usage_of_response",
]

#: Fields translated into the chat request, or kept by the gateway.
_HANDLED = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "text", "max_output_tokens",
        "temperature", "top_p", "stream", "store", "previous_response_id", "metadata",
        "parallel_tool_calls", "user", "safety_identifier", "reasoning", "truncation", "include",
    }
)  # fmt: skip
#: Hints with no bearing on the answer a chat upstream gives: dropped.
_HINTS = frozenset({"service_tier", "prompt_cache_key", "prompt_cache_retention", "stream_options"})
#: Features a chat upstream cannot serve: refused unless absent, null, or their neutral value.
_NEUTRAL: dict[str, Any] = {
    "background": False,
    "conversation": None,
    "prompt": None,
    "max_tool_calls": None,
    "top_logprobs": 0,
}
_BUILT_IN = "Tool type '{}' cannot be served by this model's upstream (it only runs function tools)."


def parse(payload: Json) -> None:
    """Check a Responses request; a :class:`WireError` names the first bad field."""
    check_request(payload)


def input_items(payload: Json) -> list[Json]:
    """The request's ``input`` as a list of items, as stored for ``previous_response_id``."""
    value = payload.get("input")
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": value}]}]
    return [item if item.get("type") is not None else {**item, "type": "message"} for item in value]


def request_to_chat(payload: Json, history: list[Json]) -> Json:
    """The chat completion request that serves a Responses request (see the module's docstring).

    ``history`` holds items this gateway stored; one that cannot be translated is refused naming
    ``previous_response_id``."""
    check_request(payload)
    _refuse_untranslatable(payload)
    builder = _Messages()
    instructions = payload.get("instructions")
    if instructions:
        builder.messages.append({"role": "system", "content": instructions})
    for item in history:
        try:
            check_item(item, "item")
            builder.add(item, "item")
        except WireError as error:
            raise WireError(
                f"The previous response cannot be continued here: {error.message}",
                param="previous_response_id",
                code=error.code,
            ) from None
    value = payload.get("input")
    if isinstance(value, str):
        builder.messages.append({"role": "user", "content": value})
    elif isinstance(value, list):
        for index, item in enumerate(value):
            builder.add(item, f"input[{index}]")
    if not any(message["role"] != "system" for message in builder.messages):
        raise WireError("The request has no input for the model: send 'input'.", param="input")
    chat: Json = {"model": payload["model"], "messages": builder.messages}
    tools = _tools(payload.get("tools"))
    if tools:
        chat["tools"] = tools
        if payload.get("parallel_tool_calls") is not None:
            chat["parallel_tool_calls"] = payload["parallel_tool_calls"]
    choice = _tool_choice(payload.get("tool_choice"))
    if choice is not None:
        chat["tool_choice"] = choice
    response_format = _response_format(payload.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    for source, target in (
        ("max_output_tokens", "max_tokens"),
        ("temperature", "temperature"),
        ("top_p", "top_p"),
    ):
        if payload.get(source) is not None:
            chat[target] = payload[source]
    effort = (payload.get("reasoning") or {}).get("effort")
    if effort is not None:
        chat["reasoning_effort"] = effort
    user = payload.get("user") or payload.get("safety_identifier")
    if user:
        chat["user"] = user
    if payload.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _refuse_untranslatable(payload: Json) -> None:
    for key, value in payload.items():
        if key in _HANDLED or key in _HINTS or value is None:
            continue
        if key in _NEUTRAL:
            neutral = _NEUTRAL[key]
            if value == neutral and type(value) is type(neutral):
                continue
            raise WireError(
                f"'{key}' cannot be served by this model's upstream (it speaks chat completions).",
                param=key,
                code="unsupported_parameter",
            )
        raise WireError(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")


class _Messages:
    """Input items turned into chat messages, one at a time."""

    def __init__(self) -> None:
        self.messages: list[Json] = []
        #: The assistant message that a following ``function_call`` joins, if the last one is such.
        self._host: Json | None = None

    def add(self, item: Json, param: str) -> None:
        kind = item_type(item)
        host, self._host = self._host, None
        if kind == "message":
            message = _message(item, param)
            self.messages.append(message)
            if message["role"] == "assistant":
                self._host = message
        elif kind == "function_call":
            call = {
                "id": item["call_id"],
                "type": "function",
                "function": {"name": item["name"], "arguments": item["arguments"]},
            }
            if host is None:
                host = {"role": "assistant", "content": None}
                self.messages.append(host)
            host.setdefault("tool_calls", []).append(call)
            self._host = host
        elif kind == "function_call_output":
            output = item["output"]
            if isinstance(output, list):
                output = [_text_part(part, f"{param}.output[{i}]") for i, part in enumerate(output)]
            self.messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": output})
        elif kind == "reasoning":
            self._host = host  # dropped, and it does not part a message from its tool calls
        else:
            raise WireError(
                f"Input items of type '{kind}' cannot be served by this model's upstream.",
                param=f"{param}.type",
                code="unsupported_parameter",
            )


def _message(item: Json, param: str) -> Json:
    role = item["role"]
    content = item["content"]
    chat_role = "system" if role == "developer" else role
    if isinstance(content, str):
        return {"role": chat_role, "content": content}
    parts = [_part(part, f"{param}.content[{index}]", role) for index, part in enumerate(content)]
    if role == "user":
        return {"role": "user", "content": parts}
    # system and assistant messages carry text alone: one string, as chat templates expect it
    texts = [part["text"] for part in parts if part["type"] == "text"]
    refusals = [part["refusal"] for part in parts if part["type"] == "refusal"]
    message: Json = {"role": chat_role, "content": "\n".join(texts) if texts or not refusals else None}
    if refusals:
        message["refusal"] = "\n".join(refusals)
    return message


def _part(part: Json, param: str, role: str) -> Json:
    kind = part["type"]
    if kind == "refusal" and role == "assistant":
        return {"type": "refusal", "refusal": part["refusal"]}
    if kind == "input_image" and role == "user":
        if part.get("image_url") is None:
            raise WireError(
                "Images given by 'file_id' cannot be served by this model's upstream: send 'image_url' "
                "(a URL or a data: URL).",
                param=f"{param}.file_id",
                code="unsupported_parameter",
            )
        image: Json = {"url": part["image_url"]}
        if part.get("detail") in ("low", "high", "auto"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    return _text_part(part, param)


def _text_part(part: Json, param: str) -> Json:
    if part["type"] in ("input_text", "output_text"):
        return {"type": "text", "text": part["text"]}
    raise WireError(
        f"Content of type '{part['type']}' cannot be served here by this model's upstream.",
        param=f"{param}.type",
        code="unsupported_parameter",
    )


def _tools(tools: list[Json] | None) -> list[Json]:
    translated: list[Json] = []
    for index, tool in enumerate(tools or []):
        if tool["type"] != "function":
            raise WireError(
                _BUILT_IN.format(tool["type"]), param=f"tools[{index}].type", code="unsupported_parameter"
            )
        function: Json = {"name": tool["name"]}
        for key in ("description", "parameters", "strict"):
            if tool.get(key) is not None:
                function[key] = tool[key]
        translated.append({"type": "function", "function": function})
    return translated


def _tool_choice(choice: str | Json | None) -> str | Json | None:
    if choice is None or isinstance(choice, str):
        return choice
    if choice["type"] == "function":
        return {"type": "function", "function": {"name": choice["name"]}}
    raise WireError(
        f"tool_choice of type '{choice['type']}' cannot be served by this model's upstream.",
        param="tool_choice.type",
        code="unsupported_parameter",
    )


def _response_format(text: Json | None) -> Json | None:
    fmt = (text or {}).get("format")
    if fmt is None or fmt["type"] == "text":
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    schema: Json = {"name": fmt["name"], "schema": fmt["schema"]}
    for key in ("description", "strict"):
        if fmt.get(key) is not None:
            schema[key] = fmt[key]
    return {"type": "json_schema", "json_schema": schema}
