"""Checking an OpenAI Responses request's fields, with OpenAI's own error wording.

:func:`check_request` is the whole check (``responses.parse``): every field the Responses API defines
and the gateway reads has the right type and range, else a :class:`WireError` naming it (``param``
is a path such as ``input[2].content[0].image_url``). ``null`` stands for an absent optional field.
Input items and tools of types this module does not know pass (an upstream that implements the API
may know them); translating them is refused later, by ``responses.request_to_chat``.
"""

from __future__ import annotations

from typing import Any

from headwater.gateway.wire.base import Json, WireError

ROLES = ("user", "system", "developer", "assistant")
TEXT_PARTS = ("input_text", "output_text")
FORMATS = ("text", "json_object", "json_schema")
TOOL_CHOICES = ("auto", "none", "required")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
MAX_METADATA = 16


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def bad_type(param: str, expected: str, value: Any) -> WireError:
    return WireError(
        f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead.",
        param=param,
        code="invalid_type",
    )


def bad_value(param: str, value: Any, allowed: tuple[str, ...]) -> WireError:
    choices = ", ".join(f"'{a}'" for a in allowed)
    return WireError(
        f"Invalid value for '{param}': {value!r}. Supported values are: {choices}.",
        param=param,
        code="invalid_value",
    )


def missing(param: str) -> WireError:
    return WireError(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def _string(obj: Json, key: str, param: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise missing(param)
        return None
    if not isinstance(value, str):
        raise bad_type(param, "a string", value)
    return value


def _number(obj: Json, key: str, low: float, high: float) -> None:
    value = obj.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_type(key, "a number", value)
    if not low <= value <= high:
        raise WireError(
            f"Invalid '{key}': expected a value between {low:g} and {high:g}, but got {value} instead.",
            param=key,
            code="invalid_value",
        )


def _boolean(obj: Json, key: str, param: str) -> None:
    value = obj.get(key)
    if value is not None and not isinstance(value, bool):
        raise bad_type(param, "a boolean", value)


def _object(obj: Json, key: str, param: str) -> Json | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, dict):
        raise bad_type(param, "an object", value)
    return value


def _choice(obj: Json, key: str, param: str, allowed: tuple[str, ...]) -> None:
    value = _string(obj, key, param)
    if value is not None and value not in allowed:
        raise bad_value(param, value, allowed)


def check_part(part: Any, param: str) -> None:
    if not isinstance(part, dict):
        raise bad_type(param, "an object", part)
    kind = _string(part, "type", f"{param}.type", required=True)
    if kind in TEXT_PARTS:
        _string(part, "text", f"{param}.text", required=True)
    elif kind == "input_image":
        url = _string(part, "image_url", f"{param}.image_url")
        file_id = _string(part, "file_id", f"{param}.file_id")
        if url is None and file_id is None:
            raise missing(f"{param}.image_url")
        _string(part, "detail", f"{param}.detail")
    elif kind == "refusal":
        _string(part, "refusal", f"{param}.refusal", required=True)


def _check_content(item: Json, param: str) -> None:
    content = item.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise missing(param) if content is None else bad_type(param, "a string or an array", content)
    for index, part in enumerate(content):
        check_part(part, f"{param}[{index}]")


def item_type(item: Json) -> str | None:
    """An input item's type; a bare ``{role, content}`` is a message."""
    kind = item.get("type")
    if kind is None and "role" in item:
        return "message"
    return kind if isinstance(kind, str) else None


def check_item(item: Any, param: str) -> None:
    if not isinstance(item, dict):
        raise bad_type(param, "an object", item)
    if item.get("type") is not None and not isinstance(item["type"], str):
        raise bad_type(f"{param}.type", "a string", item["type"])
    kind = item_type(item)
    if kind is None:
        raise missing(f"{param}.type")
    if kind == "message":
        _choice(item, "role", f"{param}.role", ROLES)
        if item.get("role") is None:
            raise missing(f"{param}.role")
        _check_content(item, f"{param}.content")
    elif kind == "function_call":
        for key in ("call_id", "name", "arguments"):
            _string(item, key, f"{param}.{key}", required=True)
    elif kind == "function_call_output":
        _string(item, "call_id", f"{param}.call_id", required=True)
        output = item.get("output")
        if isinstance(output, list):
            for index, part in enumerate(output):
                check_part(part, f"{param}.output[{index}]")
        elif not isinstance(output, str):
            raise (
                missing(f"{param}.output")
                if output is None
                else bad_type(f"{param}.output", "a string or an array", output)
            )


def _check_tools(payload: Json) -> None:
    tools = payload.get("tools")
    if tools is None:
        return
    if not isinstance(tools, list):
        raise bad_type("tools", "an array", tools)
    for index, tool in enumerate(tools):
        param = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise bad_type(param, "an object", tool)
        if _string(tool, "type", f"{param}.type", required=True) != "function":
            continue
        _string(tool, "name", f"{param}.name", required=True)
        _string(tool, "description", f"{param}.description")
        _object(tool, "parameters", f"{param}.parameters")
        _boolean(tool, "strict", f"{param}.strict")


def _check_tool_choice(payload: Json) -> None:
    choice = payload.get("tool_choice")
    if choice is None:
        return
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            raise bad_value("tool_choice", choice, TOOL_CHOICES)
        return
    if not isinstance(choice, dict):
        raise bad_type("tool_choice", "a string or an object", choice)
    if _string(choice, "type", "tool_choice.type", required=True) == "function":
        _string(choice, "name", "tool_choice.name", required=True)


def _check_text(payload: Json) -> None:
    text = _object(payload, "text", "text")
    if text is None:
        return
    _string(text, "verbosity", "text.verbosity")
    fmt = _object(text, "format", "text.format")
    if fmt is None:
        return
    _choice(fmt, "type", "text.format.type", FORMATS)
    if fmt.get("type") is None:
        raise missing("text.format.type")
    if fmt["type"] == "json_schema":
        _string(fmt, "name", "text.format.name", required=True)
        if _object(fmt, "schema", "text.format.schema") is None:
            raise missing("text.format.schema")
        _string(fmt, "description", "text.format.description")
        _boolean(fmt, "strict", "text.format.strict")


def _check_metadata(payload: Json) -> None:
    metadata = _object(payload, "metadata", "metadata")
    if metadata is None:
        return
    if len(metadata) > MAX_METADATA:
        raise WireError(
            f"Invalid 'metadata': too many properties. Expected at most {MAX_METADATA}, "
            f"but got {len(metadata)} instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    for key, value in metadata.items():
        if len(key) > 64:
            raise WireError("Invalid 'metadata': keys are at most 64 characters.", param="metadata")
        if not isinstance(value, str):
            raise bad_type(f"metadata.{key}", "a string", value)
        if len(value) > 512:
            raise WireError(f"Invalid 'metadata.{key}': at most 512 characters.", param=f"metadata.{key}")


def check_request(payload: Any) -> None:
    """The whole check of a Responses request body (see the module's docstring)."""
    if not isinstance(payload, dict):
        raise WireError("The request body must be a JSON object.", code="invalid_json")
    _string(payload, "model", "model", required=True)
    value = payload.get("input")
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_item(item, f"input[{index}]")
    elif value is not None and not isinstance(value, str):
        raise bad_type("input", "a string or an array", value)
    for key in ("instructions", "previous_response_id", "user", "safety_identifier"):
        _string(payload, key, key)
    for key in ("stream", "store", "parallel_tool_calls", "background"):
        _boolean(payload, key, key)
    _number(payload, "temperature", 0, 2)
    _number(payload, "top_p", 0, 1)
    tokens = payload.get("max_output_tokens")
    if tokens is not None:
        if isinstance(tokens, bool) or not isinstance(tokens, int):
            raise bad_type("max_output_tokens", "an integer", tokens)
        if tokens < 1:
            raise WireError(
                "Invalid 'max_output_tokens': integer below minimum value. "
                f"Expected a value >= 1, but got {tokens} instead.",
                param="max_output_tokens",
                code="integer_below_min_value",
            )
    _check_tools(payload)
    _check_tool_choice(payload)
    _check_text(payload)
    _check_metadata(payload)
    reasoning = _object(payload, "reasoning", "reasoning")
    if reasoning is not None:
        _choice(reasoning, "effort", "reasoning.effort", EFFORTS)
        _string(reasoning, "summary", "reasoning.summary")
    _choice(payload, "truncation", "truncation", ("disabled", "auto"))
    include = payload.get("include")
    if include is not None:
        if not isinstance(include, list):
            raise bad_type("include", "an array", include)
        for index, entry in enumerate(include):
            if not isinstance(entry, str):
                raise bad_type(f"include[{index}]", "a string", entry)
