"""Response objects of OpenAI's Responses API, built from chat completions.

:func:`response_from_chat` gives a Response as OpenAI returns it (and as the ``openai`` SDK's
``Response`` model validates it): ``output`` holds a ``reasoning`` item when the upstream reported
its reasoning (``reasoning_content`` / ``reasoning``), a ``message`` item with the text (and a
``refusal`` part when the upstream refused), and one ``function_call`` item per tool call; the
request's settings are echoed; ``output_text`` is not on the wire (SDKs compute it). A ``length``
finish makes the response ``incomplete`` (``max_output_tokens``), ``content_filter`` likewise.

Usage goes both ways: :func:`chat_usage_to_responses` (chat's shape → the Responses one) and
:func:`usage_of_response` (a Response's usage → chat's shape, for the gateway's accounting; the
figures are passed on as they are, the accounting decides whether to trust them).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from headwater.gateway.wire.base import Json

#: finish_reason → the incomplete_details reason (others complete the response).
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


#: Ids are unique, not secret (a stored response is its owner's alone): 16 random hex digits per
#: process, then a counter — no system call per id.
_PROCESS = os.urandom(8).hex()
_COUNTER = itertools.count(int.from_bytes(os.urandom(4)))


def new_id(prefix: str) -> str:
    return f"{prefix}_{_PROCESS}{next(_COUNTER):032x}"


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def chat_usage_to_responses(usage: Json) -> Json:
    """Chat's usage (``prompt_tokens``, ``completion_tokens``...) in the Responses API's shape."""
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    cached = _count(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else 0
    reasoning = (
        _count(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else 0
    )
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": _count(usage.get("total_tokens")) or prompt + completion,
    }


def usage_of_response(native: Json) -> Json | None:
    """The usage of a Response (or of a stream's final event's ``response``) in chat's shape."""
    usage = native.get("usage")
    if not isinstance(usage, dict):
        return None
    shaped: Json = {
        "prompt_tokens": usage.get("input_tokens"),
        "completion_tokens": usage.get("output_tokens"),
        "total_tokens": usage.get("total_tokens"),
    }
    details = usage.get("input_tokens_details")
    if isinstance(details, dict) and "cached_tokens" in details:
        shaped["prompt_tokens_details"] = {"cached_tokens": details["cached_tokens"]}
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and "reasoning_tokens" in details:
        shaped["completion_tokens_details"] = {"reasoning_tokens": details["reasoning_tokens"]}
    return shaped


def response_object(
    request: Json,
    response_id: str,
    created_at: int,
    model: str,
    *,
    status: str,
    output: list[Json],
    usage: Json | None,
    incomplete: str | None = None,
    error: Json | None = None,
) -> Json:
    """A Response: the given outcome, and the request's settings echoed as OpenAI echoes them."""
    text = request.get("text")
    text = {**text} if isinstance(text, dict) else {}
    if text.get("format") is None:
        text["format"] = {"type": "text"}
    reasoning = request.get("reasoning") or {}
    parallel = request.get("parallel_tool_calls")
    store = request.get("store")
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True if parallel is None else parallel,
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": request.get("safety_identifier"),
        "store": True if store is None else store,
        "temperature": request.get("temperature"),
        "text": text,
        "tool_choice": request.get("tool_choice") or "auto",
        "tools": [_echo_tool(tool) for tool in request.get("tools") or []],
        "top_p": request.get("top_p"),
        "truncation": request.get("truncation") or "disabled",
        "usage": usage,
        "user": request.get("user"),
        "metadata": request.get("metadata") or {},
    }


def _echo_tool(tool: Json) -> Json:
    if tool.get("type") != "function":
        return tool
    return {
        "type": "function",
        "name": tool.get("name"),
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict"),
    }


def text_part(kind: str, text: str) -> Json:
    """A message's content part: ``output_text`` or ``refusal``; or a ``reasoning_text`` part."""
    if kind == "refusal":
        return {"type": "refusal", "refusal": text}
    if kind == "reasoning_text":
        return {"type": "reasoning_text", "text": text}
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, status: str, content: list[Json]) -> Json:
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def reasoning_item(item_id: str, status: str, content: list[Json]) -> Json:
    return {"type": "reasoning", "id": item_id, "status": status, "summary": [], "content": content}


def call_item(item_id: str, status: str, call_id: str, name: str, arguments: str) -> Json:
    return {
        "type": "function_call",
        "id": item_id,
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def response_from_chat(chat: Json, request: Json, response_id: str, created_at: int, model: str) -> Json:
    """The Response that a chat completion answers a Responses request with."""
    choices = chat.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    incomplete = INCOMPLETE.get(_string(choice.get("finish_reason")))
    status = "incomplete" if incomplete else "completed"
    output: list[Json] = []
    reasoning = _string(message.get("reasoning_content")) or _string(message.get("reasoning"))
    if reasoning:
        output.append(reasoning_item(new_id("rs"), status, [text_part("reasoning_text", reasoning)]))
    calls = message.get("tool_calls")
    calls = [call for call in calls if isinstance(call, dict)] if isinstance(calls, list) else []
    content: list[Json] = []
    text = _string(message.get("content"))
    refusal = _string(message.get("refusal"))
    if text or not (calls or refusal):
        content.append(text_part("output_text", text))
    if refusal:
        content.append(text_part("refusal", refusal))
    if content:
        output.append(message_item(new_id("msg"), status, content))
    for call in calls:
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        output.append(
            call_item(
                new_id("fc"),
                status,
                _string(call.get("id")) or new_id("call"),
                _string(function.get("name")),
                _string(function.get("arguments")),
            )
        )
    usage = chat.get("usage")
    return response_object(
        request,
        response_id,
        created_at,
        model,
        status=status,
        output=output,
        usage=chat_usage_to_responses(usage) if isinstance(usage, dict) else None,
        incomplete=incomplete,
    )
