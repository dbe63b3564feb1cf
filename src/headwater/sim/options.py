"""The generation options of a request besides its length: ``stop``, ``seed``, ``logprobs``, and for
chat ``tools``/``tool_choice``/``parallel_tool_calls`` and ``response_format``. Each bad value is a
400 in OpenAI's shape naming the parameter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from headwater.sim.logprobs import MAX_TOP
from headwater.sim.responses import SimError
from headwater.sim.schema_core import Schema

MAX_STOPS = 4
MAX_TOOLS = 128
MAX_LEGACY_LOGPROBS = 5
_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_INT64 = 2**63

ToolChoice = Literal["auto", "none", "required", "function"]
ResponseKind = Literal["text", "json_object", "json_schema"]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: Schema
    index: int  # its place in ``tools``, for error messages


@dataclass(frozen=True, slots=True)
class Options:
    stop: tuple[str, ...] = ()
    seed: int | None = None
    #: None: no logprobs; else how many alternatives per token.
    logprobs: int | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice = "auto"
    #: The function ``tool_choice`` names.
    forced: str | None = None
    parallel_tool_calls: bool = True
    response: ResponseKind = "text"
    #: The schema of ``json_schema`` (None: any JSON object).
    schema: Schema | None = None


def _bad(message: str, param: str, code: str | None = "invalid_value") -> SimError:
    return SimError(400, message, param=param, code=code)


def _stop(payload: dict[str, Any]) -> tuple[str, ...]:
    value = payload.get("stop")
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if (
        not isinstance(stops, list)
        or len(stops) > MAX_STOPS
        or not all(isinstance(stop, str) and stop for stop in stops)
    ):
        raise _bad(f"'stop' must be a non-empty string or an array of up to {MAX_STOPS} of them.", "stop")
    return tuple(stops)


def _seed(payload: dict[str, Any]) -> int | None:
    value = payload.get("seed")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -_INT64 <= value < _INT64:
        raise _bad("'seed' must be a 64-bit integer.", "seed")
    return value


def _count(payload: dict[str, Any], name: str, high: int) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise _bad(f"'{name}' must be an integer between 0 and {high}.", name)
    return value


def completion_options(payload: dict[str, Any]) -> Options:
    """The options of a ``/v1/completions`` request (``logprobs`` is a count there)."""
    return Options(
        stop=_stop(payload), seed=_seed(payload), logprobs=_count(payload, "logprobs", MAX_LEGACY_LOGPROBS)
    )


_DEFAULT = Options()
_CHAT_KEYS = frozenset(
    {
        "stop",
        "seed",
        "logprobs",
        "top_logprobs",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
    }
)


def chat_options(payload: dict[str, Any]) -> Options:
    """The options of a ``/v1/chat/completions`` request."""
    if _CHAT_KEYS.isdisjoint(payload):
        return _DEFAULT
    logprobs = payload.get("logprobs")
    if logprobs is not None and not isinstance(logprobs, bool):
        raise _bad("'logprobs' must be a boolean.", "logprobs", "invalid_type")
    top = _count(payload, "top_logprobs", MAX_TOP)
    if top is not None and not logprobs:
        raise _bad("'top_logprobs' may only be set when 'logprobs' is true.", "top_logprobs")
    parallel = payload.get("parallel_tool_calls", True)
    if not isinstance(parallel, bool):
        raise _bad("'parallel_tool_calls' must be a boolean.", "parallel_tool_calls", "invalid_type")
    tools = _tools(payload.get("tools"))
    choice, forced = _tool_choice(payload.get("tool_choice"), tools)
    response, schema = _response_format(payload.get("response_format"))
    return Options(
        stop=_stop(payload),
        seed=_seed(payload),
        logprobs=(top or 0) if logprobs else None,
        tools=tools,
        tool_choice=choice,
        forced=forced,
        parallel_tool_calls=parallel,
        response=response,
        schema=schema,
    )


def _tools(value: Any) -> tuple[Tool, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_TOOLS:
        raise _bad(f"'tools' must be an array of up to {MAX_TOOLS} tools.", "tools")
    tools = []
    for index, tool in enumerate(value):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise _bad(f"'{where}' must be an object of type 'function'.", where)
        function = tool.get("function")
        if not isinstance(function, dict):
            raise _bad(f"'{where}.function' must be an object.", f"{where}.function")
        name = function.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise _bad(
                f"'{where}.function.name' must be 1 to 64 letters, digits, underscores or dashes.",
                f"{where}.function.name",
            )
        description = function.get("description", "")
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(description, str):
            raise _bad(f"'{where}.function.description' must be a string.", f"{where}.function.description")
        if not isinstance(parameters, dict):
            raise _bad(
                f"'{where}.function.parameters' must be a JSON Schema object.", f"{where}.function.parameters"
            )
        strict = function.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise _bad(f"'{where}.function.strict' must be a boolean.", f"{where}.function.strict")
        tools.append(Tool(name, description, parameters, index))
    return tuple(tools)


def _tool_choice(value: Any, tools: tuple[Tool, ...]) -> tuple[ToolChoice, str | None]:
    if value is None or value in ("auto", "none"):
        return ("none" if value == "none" or not tools else "auto"), None
    if value == "required":
        if not tools:
            raise _bad("'tool_choice' is only allowed when 'tools' are specified.", "tool_choice")
        return "required", None
    function = value.get("function") if isinstance(value, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(value, dict) or value.get("type") != "function" or not isinstance(name, str):
        raise _bad(
            "'tool_choice' must be 'none', 'auto', 'required' or "
            '{"type": "function", "function": {"name": ...}}.',
            "tool_choice",
        )
    if not any(tool.name == name for tool in tools):
        raise _bad(
            f"Invalid value for 'tool_choice': no function named {name[:100]!r} is in 'tools'.", "tool_choice"
        )
    return "function", name


def _response_format(value: Any) -> tuple[ResponseKind, Schema | None]:
    if value is None:
        return "text", None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind in ("text", "json_object"):
        return kind, None
    if kind != "json_schema":
        raise _bad(
            "'response_format.type' must be 'text', 'json_object' or 'json_schema'.", "response_format.type"
        )
    spec = value.get("json_schema")
    if not isinstance(spec, dict):
        raise _bad("'response_format.json_schema' must be an object.", "response_format.json_schema")
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _bad(
            "'response_format.json_schema.name' must be 1 to 64 letters, digits, underscores or dashes.",
            "response_format.json_schema.name",
        )
    schema = spec.get("schema")
    if schema is not None and not isinstance(schema, dict | bool):
        raise _bad(
            "'response_format.json_schema.schema' must be a JSON Schema object.",
            "response_format.json_schema.schema",
        )
    return "json_schema", schema
