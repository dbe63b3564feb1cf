"""Anthropic's answers in OpenAI's shapes: a Message as a chat completion, its usage, its errors.

- :func:`response_to_chat` turns a Message into a chat completion: text blocks joined, ``tool_use``
  blocks as tool calls (``input`` as JSON text), ``stop_reason`` as ``finish_reason``; thinking and
  server tool blocks (never asked for) are not shown.
- Usage is OpenAI's shape: prompt tokens = input + cache writes + cache reads, cache reads also as
  ``prompt_tokens_details.cached_tokens`` (:class:`UsageCounts`, which streams merge event by event).
- :func:`usage_of_message` finds the usage of a passed-through Message; :func:`error_fields` reads an
  Anthropic error body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from headwater.clock import epoch
from headwater.gateway.wire.base import Json

#: Messages ``stop_reason`` → chat ``finish_reason``.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


@dataclass(slots=True)
class UsageCounts:
    """Anthropic's usage counters, merged over the events that carry them (the latest count wins)."""

    input: int = 0
    cache_creation: int = 0
    cache_read: int = 0
    output: int = 0

    def update(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        for field, key in (
            ("input", "input_tokens"),
            ("cache_creation", "cache_creation_input_tokens"),
            ("cache_read", "cache_read_input_tokens"),
            ("output", "output_tokens"),
        ):
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                setattr(self, field, value)

    def chat(self) -> Json:
        """OpenAI usage: prompt tokens = input + cache writes + cache reads."""
        prompt = self.input + self.cache_creation + self.cache_read
        usage: Json = {
            "prompt_tokens": prompt,
            "completion_tokens": self.output,
            "total_tokens": prompt + self.output,
        }
        if self.cache_read:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cache_read}
        return usage


def usage_of_message(native: Json) -> Json | None:
    """The OpenAI-shaped usage of a Message (a passed-through response), if it has one."""
    usage = native.get("usage")
    if not isinstance(usage, dict):
        return None
    counts = UsageCounts()
    counts.update(usage)
    return counts.chat()


def response_to_chat(native: Json) -> Json:
    """The chat completion for a Message."""
    texts: list[str] = []
    calls: list[Json] = []
    content = native.get("content")
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block.get("type") == "tool_use":
            arguments = orjson.dumps(block.get("input") if isinstance(block.get("input"), dict) else {})
            function = {"name": block.get("name"), "arguments": arguments.decode()}
            calls.append({"id": block.get("id"), "type": "function", "function": function})
        # thinking and server tool blocks: never asked for, never shown
    message: Json = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    reason = native.get("stop_reason")
    return {
        "id": str(native.get("id") or "msg"),
        "object": "chat.completion",
        "created": int(epoch()),
        "model": native.get("model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": FINISH_REASONS.get(reason, "stop") if isinstance(reason, str) else "stop",
                "logprobs": None,
            }
        ],
        "usage": usage_of_message(native) or UsageCounts().chat(),
    }


def error_fields(raw: bytes) -> tuple[str, str] | None:
    """``(message, type)`` of an Anthropic error body, or None when ``raw`` is not one."""
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return None
    kind = error.get("type")
    return error["message"], kind if isinstance(kind, str) and kind else "api_error"
