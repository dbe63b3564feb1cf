"""Server-sent-event frames of a streamed completion, as OpenAI streams them.

A text choice streams a chunk per token (the first with the assistant role), each carrying its
token's logprobs when asked; a tool call streams a chunk with the call's index, id, type, function
name and empty arguments, then a chunk per token of the arguments; each choice ends with a finish
chunk. Token chunks are byte templates plus the token's JSON string, the hot path of a benchmark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from headwater.sim.logprobs import chat_content, legacy
from headwater.sim.responses import FINGERPRINT
from headwater.sim.text import WORDS

if TYPE_CHECKING:
    from headwater.sim.answers import Choice, ToolCall

#: JSON string literals of the vocabulary's tokens (``word`` and ``" word"``).
_PIECES: dict[str, bytes] = {t: orjson.dumps(t) for w in WORDS for t in (w, " " + w)}


def _piece(token: str) -> bytes:
    found = _PIECES.get(token)
    return found if found is not None else orjson.dumps(token)


class _Templates(NamedTuple):
    first: bytes  # up to a first token's JSON string
    head: bytes  # up to a later token's JSON string
    logprobs: bytes  # after the token's string, up to the logprobs value
    tail: bytes  # after the logprobs value
    plain: bytes  # after a token's string, without logprobs
    finish_head: bytes


class StreamFrames:
    """The frames of one stream; ``top`` is the logprobs alternatives asked for (None: none)."""

    __slots__ = ("_chat", "_end", "_finish_tail", "_meta", "_meta_bytes", "_templates", "_top")

    def __init__(
        self, chat: bool, id_: str, created: int, model: str, include_usage: bool, top: int | None = None
    ) -> None:
        self._chat = chat
        self._top = top
        self._meta = {
            "id": id_,
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": created,
            "model": model,
            "system_fingerprint": FINGERPRINT,
        }
        self._meta_bytes = orjson.dumps(self._meta)[:-1]  # without the closing brace
        self._end = b',"usage":null}\n\n' if include_usage else b"}\n\n"
        self._finish_tail = b"}]" + self._end
        self._templates: dict[int, _Templates] = {}

    def _for(self, index: int) -> _Templates:
        found = self._templates.get(index)
        if found is None:
            start = b"data: " + self._meta_bytes + b',"choices":[{"index":%d,' % index
            tail = b',"finish_reason":null}]' + self._end
            if self._chat:
                found = _Templates(
                    first=start + b'"delta":{"role":"assistant","content":',
                    head=start + b'"delta":{"content":',
                    logprobs=b'},"logprobs":',
                    tail=tail,
                    plain=b'},"logprobs":null' + tail,
                    finish_head=start + b'"delta":{},"logprobs":null,',
                )
            else:
                found = _Templates(
                    first=start + b'"text":',
                    head=start + b'"text":',
                    logprobs=b',"logprobs":',
                    tail=tail,
                    plain=b',"logprobs":null' + tail,
                    finish_head=start + b'"text":"","logprobs":null,',
                )
            self._templates[index] = found
        return found

    def choice(self, choice: Choice, index: int = 0) -> list[bytes]:
        """The frames of a choice before its finish chunk."""
        if choice.tool_call is not None:
            return self._tool_call(choice.tool_call, index)
        t = self._for(index)
        tokens = choice.tokens
        if not tokens:
            return [t.first + b'""' + t.plain] if self._chat else []
        if self._top is None or choice.logprobs is None:
            plain, head, known = t.plain, t.head, _PIECES.get
            frames = [t.first + _piece(tokens[0]) + plain]
            frames.extend([head + (known(token) or orjson.dumps(token)) + plain for token in tokens[1:]])
            return frames
        frames = []
        offset = 0
        for position, (token, entry) in enumerate(zip(tokens, choice.logprobs, strict=True)):
            if self._chat:
                value: Any = {"content": chat_content((entry,), self._top), "refusal": None}
            else:
                value = legacy((entry,), self._top, offset)
                offset += len(token)
            start = t.first if position == 0 else t.head
            frames.append(start + _piece(token) + t.logprobs + orjson.dumps(value) + t.tail)
        return frames

    def _frame(self, index: int, delta: dict[str, Any]) -> bytes:
        chunk = {
            **self._meta,
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": None}],
        }
        return b"data: " + orjson.dumps(chunk)[:-1] + self._end

    def _tool_call(self, call: ToolCall, index: int) -> list[bytes]:
        function = {"name": call.name, "arguments": ""}
        opening = {"index": 0, "id": call.id, "type": "function", "function": function}
        frames = [self._frame(index, {"role": "assistant", "content": None, "tool_calls": [opening]})]
        frames.extend(
            self._frame(index, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            for piece in call.pieces
        )
        return frames

    def finish(self, reason: str, index: int = 0) -> bytes:
        return self._for(index).finish_head + b'"finish_reason":' + orjson.dumps(reason) + self._finish_tail

    def usage(self, usage_: dict[str, int]) -> bytes:
        return b"data: " + orjson.dumps({**self._meta, "choices": [], "usage": usage_}) + b"\n\n"
