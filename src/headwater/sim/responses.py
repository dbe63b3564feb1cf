"""Payload builders for the simulator: OpenAI's JSON bodies and server-sent-event frames."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import orjson

from headwater.sim.text import FIRST_PIECE, NEXT_PIECE, Embedding

Header = tuple[bytes, bytes]

DONE = b"data: [DONE]\n\n"
FINGERPRINT = "fp_headwater_sim"


class SimError(Exception):
    """An error answered in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: tuple[Header, ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, type_, param, code)
        self.headers = headers


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


def new_id(prefix: str) -> str:
    return prefix + os.urandom(12).hex()


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def models_body(created: int, models: Iterable[str]) -> bytes:
    data = [{"id": m, "object": "model", "created": created, "owned_by": "headwater-sim"} for m in models]
    return orjson.dumps({"object": "list", "data": data})


def reply_text(words: Sequence[str]) -> str:
    return " ".join(words)


#: One returned choice: its words and its finish reason (``stop`` or ``length``).
Choice = tuple[Sequence[str], str]


def chat_completion(
    id_: str, created: int, model: str, choices: Sequence[Choice], usage_: dict[str, int] | None
) -> bytes:
    body: dict[str, Any] = {
        "id": id_,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {
                "index": index,
                "message": {"role": "assistant", "content": reply_text(words), "refusal": None},
                "logprobs": None,
                "finish_reason": finish,
            }
            for index, (words, finish) in enumerate(choices)
        ],
    }
    if usage_ is not None:
        body["usage"] = usage_
    return orjson.dumps(body)


def text_completion(
    id_: str, created: int, model: str, choices: Sequence[Choice], usage_: dict[str, int] | None
) -> bytes:
    body: dict[str, Any] = {
        "id": id_,
        "object": "text_completion",
        "created": created,
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {"index": index, "text": reply_text(words), "logprobs": None, "finish_reason": finish}
            for index, (words, finish) in enumerate(choices)
        ],
    }
    if usage_ is not None:
        body["usage"] = usage_
    return orjson.dumps(body)


class _Templates(NamedTuple):
    first: bytes
    head: bytes
    tail: bytes
    finish_head: bytes


class StreamFrames:
    """Byte templates of one stream's events; each token frame is two concatenations."""

    __slots__ = ("_chat", "_end", "_finish_tail", "_meta", "_meta_bytes", "_templates")

    def __init__(self, chat: bool, id_: str, created: int, model: str, include_usage: bool) -> None:
        obj = b"chat.completion.chunk" if chat else b"text_completion"
        self._chat = chat
        self._meta = {
            "id": id_,
            "object": obj.decode(),
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
            if self._chat:
                found = _Templates(
                    first=start + b'"delta":{"role":"assistant","content":',
                    head=start + b'"delta":{"content":',
                    tail=b'},"logprobs":null,"finish_reason":null}]' + self._end,
                    finish_head=start + b'"delta":{},"logprobs":null,',
                )
            else:
                found = _Templates(
                    first=start + b'"text":',
                    head=start + b'"text":',
                    tail=b',"logprobs":null,"finish_reason":null}]' + self._end,
                    finish_head=start + b'"text":"","logprobs":null,',
                )
            self._templates[index] = found
        return found

    def tokens(self, words: Sequence[str], index: int = 0) -> list[bytes]:
        """One frame per word: the first carries the word (and, for chat, the assistant role), the
        next ones `` word``."""
        if not words:
            return []
        t = self._for(index)
        frames = [t.first + FIRST_PIECE[words[0]] + t.tail]
        head, tail = t.head, t.tail
        frames.extend(head + NEXT_PIECE[word] + tail for word in words[1:])
        return frames

    def finish(self, reason: str, index: int = 0) -> bytes:
        return self._for(index).finish_head + b'"finish_reason":' + orjson.dumps(reason) + self._finish_tail

    def usage(self, usage_: dict[str, int]) -> bytes:
        return b"data: " + orjson.dumps({**self._meta, "choices": [], "usage": usage_}) + b"\n\n"


def embeddings_body(
    model: str, vectors: Sequence[Embedding], as_base64: bool, usage_: dict[str, int] | None
) -> bytes:
    data = [
        {"object": "embedding", "index": i, "embedding": v.base64 if as_base64 else v.values}
        for i, v in enumerate(vectors)
    ]
    body: dict[str, Any] = {"object": "list", "data": data, "model": model}
    if usage_ is not None:
        body["usage"] = usage_
    return orjson.dumps(body)
