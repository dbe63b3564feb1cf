"""A bundled, deterministic token estimator.

Headwater never downloads a tokenizer. This estimator approximates BPE tokenizers closely enough for
admission estimates and for accounting when an upstream reports no usage (such counts are marked
*estimated*). The simulator uses the same function, so its reported usage is reproducible.

Rule: the text is split like a BPE pre-tokenizer into words, numbers and punctuation; a word costs
one token per started four characters, every punctuation mark one token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_PIECES = re.compile(r"[^\W\d_]+|\d{1,3}|[^\w\s]|_", re.UNICODE)

#: Tokens OpenAI's chat format adds around each message and to prime the reply.
MESSAGE_OVERHEAD = 3
REPLY_PRIMING = 3


def count_text(text: str) -> int:
    """Estimated number of tokens in ``text``."""
    total = 0
    for piece in _PIECES.findall(text):
        total += (len(piece) + 3) // 4
    return total


def _content_text(content: Any) -> Iterable[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    yield text
            elif isinstance(part, str):
                yield part


def count_messages(messages: Any) -> int:
    """Estimated prompt tokens of a chat ``messages`` list (OpenAI chat format)."""
    if not isinstance(messages, list):
        return 0
    total = REPLY_PRIMING
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += MESSAGE_OVERHEAD
        for text in _content_text(message.get("content")):
            total += count_text(text)
        name = message.get("name")
        if isinstance(name, str):
            total += count_text(name)
    return total


def count_input(value: Any) -> int:
    """Estimated tokens of a completions ``prompt`` or embeddings ``input`` (string, list of strings,
    list of token ids, or list of token-id lists)."""
    if isinstance(value, str):
        return count_text(value)
    if isinstance(value, list):
        if all(isinstance(item, int) for item in value):
            return len(value)
        return sum(count_input(item) for item in value)
    return 0


def count_prompt(payload: dict[str, Any]) -> int:
    """Estimated prompt tokens of any supported request body."""
    if "messages" in payload:
        return count_messages(payload["messages"])
    if "prompt" in payload:
        return count_input(payload["prompt"])
    return count_input(payload.get("input"))
