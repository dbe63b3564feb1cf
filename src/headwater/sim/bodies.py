"""Reading and validating request bodies; every problem becomes a 400 in OpenAI's error shape."""

from __future__ import annotations

from typing import Any

import orjson

from headwater.sim.asgi import Receive
from headwater.sim.responses import SimError

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_DIMENSIONS = 65_536
MAX_CHOICES = 128


def _bad(message: str, param: str | None = None, code: str | None = "invalid_value") -> SimError:
    return SimError(400, message, param=param, code=code)


async def read_json(receive: Receive) -> dict[str, Any]:
    """The request body parsed as a JSON object."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if message.get("more_body", False):
        chunks = [body]
        size = len(body)
        while message.get("more_body", False):
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise SimError(413, "Request body too large.", code="request_too_large")
            chunks.append(chunk)
        body = b"".join(chunks)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _bad("We could not parse the JSON body of your request.", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise _bad("The request body must be a JSON object.", code="invalid_json")
    return payload


def required(payload: dict[str, Any], name: str) -> Any:
    value = payload.get(name)
    if value is None:
        raise _bad(f"Missing required parameter: '{name}'.", name, "missing_required_parameter")
    return value


def model_name(payload: dict[str, Any]) -> str:
    model = required(payload, "model")
    if not isinstance(model, str):
        raise _bad("'model' must be a string.", "model", "invalid_type")
    return model


def messages(payload: dict[str, Any]) -> list[Any]:
    value = required(payload, "messages")
    if not isinstance(value, list) or not value:
        raise _bad("'messages' must be a non-empty array.", "messages")
    if not all(isinstance(m, dict) for m in value):
        raise _bad("Every item of 'messages' must be an object.", "messages", "invalid_type")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def input_items(value: Any, param: str) -> list[bytes]:
    """The items of a ``prompt``/``input``: a string, a list of strings, a list of token ids, or a
    list of token-id lists. Each item comes back as stable bytes (the key of its embedding)."""
    if isinstance(value, str):
        return [b"s" + value.encode()]
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            return [b"s" + v.encode() for v in value]
        if all(_is_int(v) for v in value):
            return [b"t" + ",".join(map(str, value)).encode()]
        if all(isinstance(v, list) and v and all(_is_int(t) for t in v) for v in value):
            return [b"t" + ",".join(map(str, v)).encode() for v in value]
    raise _bad(
        f"'{param}' must be a string, an array of strings, an array of token ids, "
        "or an array of token-id arrays, and not empty.",
        param,
    )


def optional_bool(payload: dict[str, Any], name: str) -> bool:
    value = payload.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(f"'{name}' must be a boolean.", name, "invalid_type")
    return value


def include_usage(payload: dict[str, Any]) -> bool:
    options = payload.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise _bad("'stream_options' must be an object.", "stream_options", "invalid_type")
    return optional_bool(options, "include_usage")


def optional_int(payload: dict[str, Any], name: str, low: int, high: int | None = None) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if not _is_int(value) or value < low or (high is not None and value > high):
        bound = f" and at most {high}" if high is not None else ""
        raise _bad(f"'{name}' must be an integer of at least {low}{bound}.", name)
    result: int = value
    return result


def token_limit(payload: dict[str, Any]) -> int | None:
    """The reply cap per choice: ``max_completion_tokens``, else ``max_tokens`` (vLLM and OpenAI: the
    first wins when both are set)."""
    limit = optional_int(payload, "max_completion_tokens", 1)
    return limit if limit is not None else optional_int(payload, "max_tokens", 1)


def choices(payload: dict[str, Any], completions: bool, stream: bool) -> tuple[int, int]:
    """``n`` (choices returned) and how many sequences are generated: ``best_of`` for completions
    (at least ``n``; not with streaming unless equal to ``n``), else ``n``."""
    n = optional_int(payload, "n", 1, MAX_CHOICES) or 1
    if not completions:
        return n, n
    best_of = optional_int(payload, "best_of", 1, MAX_CHOICES)
    if best_of is None:
        return n, n
    if best_of < n:
        raise _bad(f"'best_of' ({best_of}) must be at least 'n' ({n}).", "best_of")
    if stream and best_of != n:
        raise _bad("'best_of' must equal 'n' when streaming.", "best_of")
    return n, best_of


def dimensions(payload: dict[str, Any], default: int) -> int:
    value = optional_int(payload, "dimensions", 1, MAX_DIMENSIONS)
    return default if value is None else value


def base64_encoding(payload: dict[str, Any]) -> bool:
    value = payload.get("encoding_format")
    if value is None or value == "float":
        return False
    if value == "base64":
        return True
    raise _bad("'encoding_format' must be 'float' or 'base64'.", "encoding_format")
