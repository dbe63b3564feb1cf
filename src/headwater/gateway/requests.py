"""Request bodies: parse once with orjson, check what the gateway relies on, nothing more.

The upstream validates the rest of the OpenAI schema; the gateway must only never be fooled (a
missing model, a stream flag that is not a boolean) and answer bad input in OpenAI's shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from headwater.errors import BadRequest


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str  # chat | completions | embeddings
    upstream_path: str  # appended to a deployment's base URL
    kinds: frozenset[str]  # model kinds it serves
    content_field: str  # the field that carries the prompt
    streams: bool


CHAT = Endpoint("chat", "/chat/completions", frozenset({"chat"}), "messages", True)
COMPLETIONS = Endpoint("completions", "/completions", frozenset({"chat", "completion"}), "prompt", True)
EMBEDDINGS = Endpoint("embeddings", "/embeddings", frozenset({"embedding"}), "input", False)


def _missing(param: str) -> BadRequest:
    return BadRequest(
        f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param
    )


def _invalid(param: str, expected: str) -> BadRequest:
    return BadRequest(f"Invalid type for '{param}': expected {expected}.", code="invalid_type", param=param)


def parse(body: bytes, endpoint: Endpoint) -> dict[str, Any]:
    if not body:
        raise BadRequest("The request body is empty; send a JSON object.", code="invalid_json")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest(
            "We could not parse the JSON body of your request: it is not valid JSON.", code="invalid_json"
        ) from None
    if not isinstance(payload, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")

    model = payload.get("model")
    if model is None:
        raise _missing("model")
    if not isinstance(model, str) or not model:
        raise _invalid("model", "a non-empty string")

    content = payload.get(endpoint.content_field)
    if content is None:
        raise _missing(endpoint.content_field)
    if endpoint is CHAT:
        if not isinstance(content, list) or not content:
            raise _invalid("messages", "a non-empty array of message objects")
        for index, message in enumerate(content):
            if not isinstance(message, dict) or not isinstance(message.get("role"), str):
                raise _invalid(f"messages[{index}]", "an object with a string 'role'")
    elif not isinstance(content, str | list):
        raise _invalid(endpoint.content_field, "a string or an array")

    stream = payload.get("stream")
    if stream is not None:
        if not isinstance(stream, bool):
            raise _invalid("stream", "a boolean")
        if stream and not endpoint.streams:
            raise BadRequest("This endpoint does not stream.", code="invalid_value", param="stream")
    options = payload.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise _invalid("stream_options", "an object")
    for field in ("max_tokens", "max_completion_tokens"):
        value = payload.get(field)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise _invalid(field, "a positive integer")
    return payload
