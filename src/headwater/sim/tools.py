"""Whether a chat reply calls a tool, which one, and its call id.

``tool_choice`` ``"auto"`` (the default with tools) calls a tool when the conversation ends with a
user message and answers in text once it ends with a tool result (or anything else); ``"required"``
always calls, ``"none"`` never, and a named function is always that one. The tool called is the one
whose name (then description) shares the most words with the last user message (a word of four
letters or more also matches the words it starts: "book" and "booking"), ties broken by the seed:
ask for the weather and ``get_weather`` is called. One call per reply (``parallel_tool_calls``
allows more, never requires them).
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from typing import Any

from headwater.sim.options import Options, Tool

_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ALNUM = string.ascii_letters + string.digits


def calls_tool(options: Options, messages: list[dict[str, Any]]) -> bool:
    """Whether the reply to ``messages`` is a tool call."""
    if not options.tools or options.tool_choice == "none":
        return False
    if options.tool_choice == "auto":
        return messages[-1].get("role") == "user"
    return True


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(_CAMEL.sub(" ", text).lower()) if len(word) > 2}


def _shared(words: set[str], wanted: set[str]) -> int:
    """How many of ``words`` are in ``wanted``, or start one of them or with one ("book", "booking")."""
    return sum(
        any(word.startswith(w) or w.startswith(word) for w in wanted if min(len(w), len(word)) >= 4)
        or word in wanted
        for word in words
    )


def pick(options: Options, messages: list[dict[str, Any]], rng: random.Random) -> Tool:
    """The tool to call."""
    if options.forced is not None:
        return next(tool for tool in options.tools if tool.name == options.forced)
    asked = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    wanted = _words(asked)

    def score(tool: Tool) -> int:
        return 4 * _shared(_words(tool.name), wanted) + _shared(_words(tool.description), wanted)

    best = max(score(tool) for tool in options.tools)
    candidates = [tool for tool in options.tools if score(tool) == best]
    return candidates[rng.randrange(len(candidates))]


def call_id(material: bytes) -> str:
    """``call_`` and 24 letters or digits derived from ``material`` (the request and the choice)."""
    digest = int.from_bytes(hashlib.blake2b(material, digest_size=24).digest(), "big")
    chars = []
    for _ in range(24):
        digest, rest = divmod(digest, len(_ALNUM))
        chars.append(_ALNUM[rest])
    return "call_" + "".join(chars)
