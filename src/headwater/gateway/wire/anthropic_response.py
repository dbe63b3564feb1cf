"""Anthropic's Messages API, client side: the answer. A chat completion shown as a Message, and errors.

- :func:`response_from_chat` turns a chat completion into a Message: text first, then one
  ``tool_use`` block per tool call, ``stop_reason`` mapped from ``finish_reason`` (a turn that called
  tools ends in ``tool_use``; a stop string that vLLM reports is ``stop_sequence``), usage with cached
  prompt tokens as cache reads.
- Tool arguments that are not a JSON object are the upstream's fault: :func:`tool_input` raises
  :class:`WireError` with code ``bad_upstream_response`` (a 502 for the client), never an ``input``
  the model did not produce (``{}`` or the raw text in a text block would both be a different answer).
- :func:`error_body` is Anthropic's error JSON for an HTTP status (:func:`error_type`).
"""

from __future__ import annotations

import re
import secrets

import orjson

from headwater.gateway.wire.base import Json, WireError

#: chat ``finish_reason`` → Messages ``stop_reason``.
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _bad_upstream(message: str, param: str) -> WireError:
    return WireError(
        f"The upstream's answer is malformed: {message}", param=param, code="bad_upstream_response"
    )


def message_id(chat_id: object) -> str:
    """A Message id (``msg_…``) from a chat completion id's safe characters, else a fresh one."""
    if isinstance(chat_id, str):
        safe = re.sub(r"[^A-Za-z0-9_-]", "", chat_id.removeprefix("chatcmpl-").removeprefix("msg_"))[:64]
        if safe:
            return "msg_" + safe
    return "msg_" + secrets.token_hex(12)


def tool_input(arguments: object, param: str) -> Json:
    """A tool call's ``input``: its JSON arguments, which must be an object (empty text is ``{}``)."""
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return {}
    if not isinstance(arguments, str):
        raise _bad_upstream("tool arguments are not text.", param)
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        raise _bad_upstream("tool arguments are not valid JSON.", param) from None
    if not isinstance(value, dict):
        raise _bad_upstream("tool arguments are not a JSON object.", param)
    return value


def usage_from_chat(usage: object) -> Json:
    """Messages usage from OpenAI usage (cached prompt tokens are reported as cache reads)."""
    usage = usage if isinstance(usage, dict) else {}
    prompt = _count(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details")
    cached = min(prompt, _count(details.get("cached_tokens"))) if isinstance(details, dict) else 0
    return {
        "input_tokens": prompt - cached,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": _count(usage.get("completion_tokens")),
    }


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def stop_reason(finish_reason: object, *, tool_calls: bool) -> str:
    """The ``stop_reason`` for a chat ``finish_reason`` (a turn that called tools ended in ``tool_use``)."""
    reason = STOP_REASONS.get(finish_reason, "end_turn") if isinstance(finish_reason, str) else "end_turn"
    return "tool_use" if tool_calls and reason == "end_turn" else reason


def response_from_chat(chat: Json, model: str) -> Json:
    """The Message for a chat completion (``choices[0]``), shown as ``model``."""
    choices = chat.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    content: list[Json] = []
    text = _message_text(message)
    if text:
        content.append({"type": "text", "text": text})
    calls = message.get("tool_calls")
    for k, call in enumerate(calls if isinstance(calls, list) else []):
        path = f"choices[0].message.tool_calls[{k}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _bad_upstream("a tool call has no function name.", f"{path}.function.name")
        call_id = call.get("id")
        content.append(
            {
                "type": "tool_use",
                "id": call_id if isinstance(call_id, str) and call_id else "toolu_" + secrets.token_hex(12),
                "name": function["name"],
                "input": tool_input(function.get("arguments"), f"{path}.function.arguments"),
            }
        )
    tool_used = any(block["type"] == "tool_use" for block in content)
    matched = choice.get("stop_reason")  # vLLM: the stop string that ended the text
    sequence = matched if isinstance(matched, str) and choice.get("finish_reason") == "stop" else None
    return {
        "id": message_id(chat.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "stop_sequence"
        if sequence
        else stop_reason(choice.get("finish_reason"), tool_calls=tool_used),
        "stop_sequence": sequence,
        "usage": usage_from_chat(chat.get("usage")),
    }


def _message_text(message: Json) -> str:
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    if not content and isinstance(message.get("refusal"), str):
        content = message["refusal"]
    return content if isinstance(content, str) else ""


def error_type(status: int) -> str:
    """Anthropic's error ``type`` for an HTTP status."""
    if status in _ERROR_TYPES:
        return _ERROR_TYPES[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def error_body(status: int, message: str, *, request_id: str | None = None) -> bytes:
    """Anthropic's error JSON for an HTTP status: ``{"type": "error", "error": {"type", "message"}}``."""
    body: Json = {"type": "error", "error": {"type": error_type(status), "message": message}}
    if request_id:
        body["request_id"] = request_id
    return orjson.dumps(body)
