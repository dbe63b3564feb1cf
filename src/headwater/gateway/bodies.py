"""Request bodies: parse once with orjson, check what the gateway relies on, nothing more.

The upstream validates the rest of the OpenAI schema; the gateway must only never be fooled (a
missing model, a stream flag that is not a boolean) and answer bad input in OpenAI's shape.

Two bounds hold for every body: JSON nested more than :data:`MAX_DEPTH` (128) levels is refused
(400 ``nesting_too_deep``: orjson cannot write back a body deeper than 255 levels, and the estimator
walks it), and an embeddings request has at most :data:`MAX_EMBEDDING_INPUTS` (2,048, OpenAI's
bound) inputs (400 ``too_many_inputs``, param ``input``).

The depth check costs two ``bytes.count`` calls for a body with at most 128 brackets (most
requests); otherwise it walks the parsed value one depth at a time (never into strings), looking at
the types of a depth's members in one C-level pass, so its cost follows the number of values orjson
has just built (measured: at most about the time of the parse itself, for bodies of millions of
values).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any

import orjson

from headwater.errors import BadRequest

MAX_DEPTH = 128
MAX_EMBEDDING_INPUTS = 2048

_CONTAINERS = frozenset({dict, list})


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
    if too_deep(body, payload):
        raise BadRequest(
            f"The JSON body is nested more than {MAX_DEPTH} levels deep.", code="nesting_too_deep"
        )

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
    elif endpoint is EMBEDDINGS and _inputs(content) > MAX_EMBEDDING_INPUTS:
        raise BadRequest(
            f"'input' has {len(content)} items; at most {MAX_EMBEDDING_INPUTS} are allowed.",
            code="too_many_inputs",
            param="input",
        )

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


def _inputs(value: str | list[Any]) -> int:
    """How many inputs an embeddings ``input`` holds: a list of token ids is one."""
    if isinstance(value, str) or all(isinstance(item, int) for item in value[: MAX_EMBEDDING_INPUTS + 1]):
        return 1
    return len(value)


def too_deep(body: bytes, payload: Any) -> bool:
    """Whether the parsed ``payload`` of ``body`` nests more than :data:`MAX_DEPTH` levels."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return False  # fewer brackets than levels, strings included
    level: list[Any] = [payload]  # the non-empty containers at one depth, from the top
    for depth in range(2, MAX_DEPTH + 2):
        members = list(chain.from_iterable(v.values() if type(v) is dict else v for v in level))
        if _CONTAINERS.isdisjoint(map(type, members)):
            return False  # only scalars at this depth: decided at C speed, whatever their number
        if depth > MAX_DEPTH:
            break
        # only non-empty containers nest deeper (filter(None, …) drops empty ones at C speed)
        level = [member for member in filter(None, members) if type(member) is dict or type(member) is list]
        if not level:
            return False
    return True  # a container sits at depth MAX_DEPTH + 1
