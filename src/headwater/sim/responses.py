"""Payload builders for the simulator: OpenAI's JSON bodies and errors (stream frames are in
:mod:`headwater.sim.chunks`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from headwater.sim.logprobs import chat_content, legacy
from headwater.sim.text import Embedding

if TYPE_CHECKING:
    from headwater.sim.answers import Choice

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


def _chat_choice(index: int, choice: Choice, top: int | None) -> dict[str, Any]:
    call = choice.tool_call
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if call is None:
        message["content"] = choice.text
    else:
        function = {"name": call.name, "arguments": call.arguments}
        message["tool_calls"] = [{"id": call.id, "type": "function", "function": function}]
    logprobs = None
    if top is not None and choice.logprobs is not None:
        logprobs = {"content": chat_content(choice.logprobs, top), "refusal": None}
    return {"index": index, "message": message, "logprobs": logprobs, "finish_reason": choice.finish}


def chat_completion(
    id_: str,
    created: int,
    model: str,
    choices: Sequence[Choice],
    usage_: dict[str, int] | None,
    top: int | None = None,
) -> bytes:
    """A ``chat.completion``; ``top``: the logprobs alternatives asked for (None: no logprobs)."""
    body: dict[str, Any] = {
        "id": id_,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": [_chat_choice(index, choice, top) for index, choice in enumerate(choices)],
    }
    if usage_ is not None:
        body["usage"] = usage_
    return orjson.dumps(body)


def text_completion(
    id_: str,
    created: int,
    model: str,
    choices: Sequence[Choice],
    usage_: dict[str, int] | None,
    top: int | None = None,
) -> bytes:
    """A ``text_completion``; ``top``: the legacy ``logprobs`` count (None: no logprobs)."""
    body: dict[str, Any] = {
        "id": id_,
        "object": "text_completion",
        "created": created,
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {
                "index": index,
                "text": choice.text,
                "logprobs": None if top is None or choice.logprobs is None else legacy(choice.logprobs, top),
                "finish_reason": choice.finish,
            }
            for index, choice in enumerate(choices)
        ],
    }
    if usage_ is not None:
        body["usage"] = usage_
    return orjson.dumps(body)


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
