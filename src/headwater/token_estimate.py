"""A bundled, deterministic token estimator.

Headwater never downloads a tokenizer. This estimator approximates BPE tokenizers closely enough for
admission estimates and for accounting when an upstream reports no usage (such counts are marked
*estimated*). The simulator uses the same function, so its reported usage is reproducible.

Rule: the text is split like a BPE pre-tokenizer into words, numbers and punctuation; a word costs
one token per started four characters, every punctuation mark one token.

What a chat request sends besides text is counted too:

- each message costs :data:`MESSAGE_OVERHEAD`, the reply :data:`REPLY_PRIMING`;
- an ``image_url`` part costs a fixed :data:`IMAGE_LOW_DETAIL` (``"detail": "low"``) or
  :data:`IMAGE_HIGH_DETAIL` (any other detail: OpenAI's figure for a 512 px tile plus the base);
  the image itself is never fetched or decoded;
- an assistant's ``tool_calls`` (and the older ``function_call``): each call's function name and
  its ``arguments`` text;
- ``tools`` (and the older ``functions``): each function's name, description and its JSON schema,
  counted as the schema's compact JSON text.

Request bodies are at most 128 levels deep (``gateway.bodies``), so serialising a schema cannot fail
there; a body from elsewhere that cannot be serialised counts its schema as 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

_PIECES = re.compile(r"[^\W\d_]+|\d{1,3}|[^\w\s]|_", re.UNICODE)

#: Tokens OpenAI's chat format adds around each message and to prime the reply.
MESSAGE_OVERHEAD = 3
REPLY_PRIMING = 3
#: Fixed cost of one image part (OpenAI: 85 for a low-detail image, 85 + 170 per 512 px tile else).
IMAGE_LOW_DETAIL = 85
IMAGE_HIGH_DETAIL = 765


#: Long texts are counted a chunk at a time (cut at whitespace, so the count is the same): each
#: regular-expression call stays short, so a thread counting a huge prompt lets the event loop run.
CHUNK = 64 * 1024
_SPACE = re.compile(r"\s")
_CUT_SEARCH = 4096  # no whitespace that near: cut anyway (a word split in two counts one token more)


def count_text(text: str) -> int:
    """Estimated number of tokens in ``text``."""
    total = 0
    end = len(text)
    start = 0
    while start < end:
        stop = start + CHUNK
        if stop < end:
            space = _SPACE.search(text, stop, stop + _CUT_SEARCH)
            if space is not None:
                stop = space.start()
        else:
            stop = end
        for piece in _PIECES.findall(text, start, stop):
            total += (len(piece) + 3) // 4
        start = stop
    return total


def _strings(*values: Any) -> Iterable[str]:
    for value in values:
        if isinstance(value, str):
            yield value


def count_content(content: Any) -> int:
    """A message's ``content``: a string, or a list of text and image parts."""
    if isinstance(content, str):
        return count_text(content)
    total = 0
    if isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                total += count_text(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    total += count_text(text)
                elif part.get("type") == "image_url":
                    image = part.get("image_url")
                    low = isinstance(image, dict) and image.get("detail") == "low"
                    total += IMAGE_LOW_DETAIL if low else IMAGE_HIGH_DETAIL
    return total


def _function_call(call: Any) -> int:
    """A call's function name and arguments (``{"name", "arguments"}``)."""
    if not isinstance(call, dict):
        return 0
    return sum(count_text(text) for text in _strings(call.get("name"), call.get("arguments")))


def count_tool_calls(calls: Any) -> int:
    """Tokens of ``tool_calls`` (a list of ``{"function": {"name", "arguments"}}``)."""
    if not isinstance(calls, list):
        return 0
    return sum(_function_call(call.get("function")) for call in calls if isinstance(call, dict))


def count_messages(messages: Any) -> int:
    """Estimated prompt tokens of a chat ``messages`` list (OpenAI chat format)."""
    if not isinstance(messages, list):
        return 0
    total = REPLY_PRIMING
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += MESSAGE_OVERHEAD + count_content(message.get("content"))
        name = message.get("name")
        if isinstance(name, str):
            total += count_text(name)
        total += count_tool_calls(message.get("tool_calls")) + _function_call(message.get("function_call"))
    return total


def _schema(value: Any) -> int:
    if value is None:
        return 0
    try:
        return count_text(orjson.dumps(value).decode())
    except orjson.JSONEncodeError:
        return 0


def _function(function: Any) -> int:
    if not isinstance(function, dict):
        return 0
    total = sum(count_text(text) for text in _strings(function.get("name"), function.get("description")))
    return total + _schema(function.get("parameters"))


def count_tools(tools: Any) -> int:
    """Tokens of a request's ``tools`` (``[{"type": "function", "function": {...}}]``)."""
    if not isinstance(tools, list):
        return 0
    return sum(_function(tool.get("function")) for tool in tools if isinstance(tool, dict))


def count_input(value: Any) -> int:
    """Estimated tokens of a completions ``prompt`` or embeddings ``input`` (string, list of strings,
    list of token ids, or list of token-id lists)."""
    if isinstance(value, str):
        return count_text(value)
    if not isinstance(value, list):
        return 0
    total = 0
    for item in value:
        if isinstance(item, str):
            total += count_text(item)
        elif isinstance(item, int):
            total += 1
        elif isinstance(item, list):
            total += sum(1 for token in item if isinstance(token, int))
    return total


def count_prompt(payload: dict[str, Any]) -> int:
    """Estimated prompt tokens of any supported request body."""
    if "messages" in payload:
        total = count_messages(payload["messages"])
        total += count_tools(payload.get("tools"))
        functions = payload.get("functions")
        if isinstance(functions, list):
            total += sum(_function(function) for function in functions)
        return total
    if "prompt" in payload:
        return count_input(payload["prompt"])
    return count_input(payload.get("input"))
