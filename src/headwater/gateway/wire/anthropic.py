"""Anthropic's Messages API: ``POST /v1/messages`` in, and an Anthropic provider out.

This module is the one import point for the protocol (the names in ``__all__``) and holds the
client's request side:

- :func:`request_to_chat` validates a Messages request and translates it to a chat completion
  request; :func:`count_tokens_to_chat` does the same for ``POST /v1/messages/count_tokens`` (no
  ``max_tokens``, nothing streamed). The first bad field raises :class:`WireError` naming it
  (``messages[1].content[0].type``); nothing malformed is passed on.
- What a chat completions upstream cannot serve faithfully is refused, never dropped: extended
  thinking, ``document``/``search_result`` blocks, citations, server tools (web search, code
  execution...), containers and MCP servers, images by file id, images inside tool results,
  ``output_config.effort``, and a final assistant turn (prefill: a chat upstream would answer it
  instead of continuing it). Unknown parameters are refused as Anthropic's API refuses them.
- Dropped because they do not change the answer: ``cache_control``, ``service_tier``, ``speed``,
  ``diagnostics``, thinking blocks of earlier assistant turns (Anthropic ignores them too), and
  ``is_error`` of a tool result (chat tool messages have no such flag; the result's text is kept).
- ``output_config.format`` (structured output) becomes a strict ``json_schema`` response format.

The answer (:func:`response_from_chat`, :func:`error_body`) is :mod:`.anthropic_response`, the
streams both ways :mod:`.anthropic_stream`; the upstream side (an ``anthropic`` provider behind a
chat request) is :mod:`.anthropic_upstream` (the request) and :mod:`.anthropic_native` (the answer).
"""

from __future__ import annotations

from typing import Any

import orjson

from headwater.gateway.wire.anthropic_fields import bad, integer, number, obj, refuse, string
from headwater.gateway.wire.anthropic_native import error_fields, response_to_chat, usage_of_message
from headwater.gateway.wire.anthropic_response import error_body, response_from_chat
from headwater.gateway.wire.anthropic_stream import (
    MessagesDecoder,
    MessagesEncoder,
    MessagesUsage,
    error_event,
)
from headwater.gateway.wire.anthropic_upstream import request_from_chat
from headwater.gateway.wire.base import Json, WireError

__all__ = [
    "MessagesDecoder",
    "MessagesEncoder",
    "MessagesUsage",
    "count_tokens_to_chat",
    "error_body",
    "error_event",
    "error_fields",
    "request_from_chat",
    "request_to_chat",
    "response_from_chat",
    "response_to_chat",
    "usage_of_message",
]

#: Keys of a Messages request that are translated.
_TRANSLATED = frozenset(
    {
        "model", "max_tokens", "messages", "system", "stop_sequences", "temperature", "top_p", "top_k",
        "tools", "tool_choice", "metadata", "stream", "thinking", "output_config",
    }
)  # fmt: skip
#: Keys accepted and dropped: they change cost, latency or bookkeeping, never the answer.
_DROPPED = frozenset(
    {"cache_control", "service_tier", "speed", "diagnostics", "workspace_id", "user_profile_id"}
)
#: Keys that would change the answer and that a chat completions upstream cannot serve.
_REFUSED = frozenset({"container", "mcp_servers", "context_management", "inference_geo"})
#: Content block types a chat completions upstream cannot serve.
_REFUSED_BLOCKS = frozenset(
    {
        "document", "search_result", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
        "code_execution_tool_result", "bash_code_execution_tool_result", "tool_search_tool_result",
        "text_editor_code_execution_tool_result", "container_upload", "mcp_tool_use", "mcp_tool_result",
    }
)  # fmt: skip
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def request_to_chat(payload: Json) -> Json:
    """The chat completion request that serves a ``POST /v1/messages`` body (validated)."""
    return _to_chat(payload, counting=False)


def count_tokens_to_chat(payload: Json) -> Json:
    """The chat completion request whose prompt a ``POST /v1/messages/count_tokens`` body counts."""
    return _to_chat(payload, counting=True)


def _to_chat(payload: object, *, counting: bool) -> Json:
    if not isinstance(payload, dict):
        raise WireError("The request body must be a JSON object.")
    for key, value in payload.items():
        if value is None or key in _TRANSLATED or key in _DROPPED:
            continue
        if key in _REFUSED:
            raise refuse(f"`{key}`", key)
        raise WireError(f"{key}: unknown parameter.", param=key)
    chat: Json = {"model": string(payload.get("model"), "model")}
    if not chat["model"]:
        raise bad("must not be empty.", "model")
    if not counting:
        chat["max_tokens"] = integer(payload.get("max_tokens"), "max_tokens", 1)
    elif payload.get("max_tokens") is not None:
        integer(payload["max_tokens"], "max_tokens", 0)
    system = _system(payload.get("system"))
    chat["messages"] = system + _messages(payload.get("messages"), prefill_allowed=counting)
    if (stops := payload.get("stop_sequences")) is not None:
        if not isinstance(stops, list):
            raise bad("must be an array of strings.", "stop_sequences")
        chat["stop"] = [string(stop, f"stop_sequences[{i}]") for i, stop in enumerate(stops)]
    for key in ("temperature", "top_p"):
        if payload.get(key) is not None:
            chat[key] = number(payload[key], key, 0, 1)
    if payload.get("top_k") is not None:
        chat["top_k"] = integer(payload["top_k"], "top_k", 1)
    if payload.get("metadata") is not None:
        user = obj(payload["metadata"], "metadata").get("user_id")
        if user is not None:
            chat["user"] = string(user, "metadata.user_id")
    _tools(payload, chat)
    _thinking(payload.get("thinking"))
    _output_config(payload.get("output_config"), chat)
    stream = payload.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise bad("must be a boolean.", "stream")
    if stream and not counting:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _system(system: object) -> list[Json]:
    if system is None:
        return []
    if isinstance(system, str):
        text = system
    elif isinstance(system, list):
        text = "\n".join(_text_block(block, f"system[{i}]") for i, block in enumerate(system))
    else:
        raise bad("must be a string or an array of text blocks.", "system")
    return [{"role": "system", "content": text}] if text else []


def _text_block(block: object, path: str) -> str:
    block = obj(block, path)
    if block.get("type") != "text":
        raise bad("must be a text block.", f"{path}.type")
    if block.get("citations"):
        raise refuse("Citations", f"{path}.citations")
    return string(block.get("text"), f"{path}.text")


def _messages(raw: object, *, prefill_allowed: bool) -> list[Json]:
    if not isinstance(raw, list) or not raw:
        raise bad("must be a non-empty array of messages.", "messages")
    out: list[Json] = []
    tool_ids: set[str] = set()
    for i, message in enumerate(raw):
        path = f"messages[{i}]"
        message = obj(message, path)
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise bad('must be "user" or "assistant".', f"{path}.role")
        content = message.get("content")
        if isinstance(content, str):
            out.append({"role": role, "content": content})
            continue
        if not isinstance(content, list):
            raise bad("must be a string or an array of content blocks.", f"{path}.content")
        if not content:
            raise bad("must not be empty.", f"{path}.content")
        if role == "user":
            out += _user_turn(content, f"{path}.content", tool_ids)
        else:
            out.append(_assistant_turn(content, f"{path}.content", tool_ids))
    if not prefill_allowed and raw[-1].get("role") == "assistant":
        raise refuse("A final assistant message (prefill)", f"messages[{len(raw) - 1}].role")
    return out


def _user_turn(blocks: list[Any], path: str, tool_ids: set[str]) -> list[Json]:
    results: list[Json] = []
    parts: list[Json] = []
    for j, block in enumerate(blocks):
        where = f"{path}[{j}]"
        kind = obj(block, where).get("type")
        if kind == "text":
            parts.append({"type": "text", "text": _text_block(block, where)})
        elif kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": _image_url(block.get("source"), where)}})
        elif kind == "tool_result":
            results.append(_tool_result(block, where, tool_ids))
        else:
            raise _block_error(kind, where)
    if not parts:
        return results
    if len(parts) == 1 and parts[0]["type"] == "text":
        return [*results, {"role": "user", "content": parts[0]["text"]}]
    return [*results, {"role": "user", "content": parts}]


def _block_error(kind: object, where: str) -> WireError:
    if isinstance(kind, str) and kind in _REFUSED_BLOCKS:
        return refuse(f"A `{kind}` content block", f"{where}.type")
    return bad(f"unknown or misplaced content block type {kind!r}.", f"{where}.type")


def _image_url(source: object, where: str) -> str:
    path = f"{where}.source"
    source = obj(source, path)
    kind = source.get("type")
    if kind == "base64":
        media_type = source.get("media_type")
        if media_type not in _IMAGE_TYPES:
            raise bad(f"must be one of {', '.join(sorted(_IMAGE_TYPES))}.", f"{path}.media_type")
        data = string(source.get("data"), f"{path}.data")
        return f"data:{media_type};base64,{data}"
    if kind == "url":
        url = string(source.get("url"), f"{path}.url")
        if not url.startswith(("https://", "http://")):
            raise bad("must be an http(s) URL.", f"{path}.url")
        return url
    if kind == "file":
        raise refuse("An image by file id", f"{path}.type")
    raise bad('must be "base64" or "url".', f"{path}.type")


def _tool_result(block: Json, where: str, tool_ids: set[str]) -> Json:
    tool_use_id = string(block.get("tool_use_id"), f"{where}.tool_use_id")
    if tool_use_id not in tool_ids:
        raise bad("names no tool_use block of an earlier assistant message.", f"{where}.tool_use_id")
    content = block.get("content")
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    elif isinstance(content, list):
        texts = []
        for k, part in enumerate(content):
            kind = obj(part, f"{where}.content[{k}]").get("type")
            if kind == "image":
                raise refuse("An image inside a tool result", f"{where}.content[{k}].type")
            if kind != "text":
                raise _block_error(kind, f"{where}.content[{k}]")
            texts.append(_text_block(part, f"{where}.content[{k}]"))
        text = "\n".join(texts)
    else:
        raise bad("must be a string or an array of text blocks.", f"{where}.content")
    if block.get("is_error") is not None and not isinstance(block["is_error"], bool):
        raise bad("must be a boolean.", f"{where}.is_error")
    return {"role": "tool", "tool_call_id": tool_use_id, "content": text}


def _assistant_turn(blocks: list[Any], path: str, tool_ids: set[str]) -> Json:
    texts: list[str] = []
    calls: list[Json] = []
    for j, block in enumerate(blocks):
        where = f"{path}[{j}]"
        kind = obj(block, where).get("type")
        if kind == "text":
            texts.append(_text_block(block, where))
        elif kind == "tool_use":
            call_id = string(block.get("id"), f"{where}.id")
            name = string(block.get("name"), f"{where}.name")
            arguments = orjson.dumps(obj(block.get("input"), f"{where}.input")).decode()
            calls.append(
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            )
            tool_ids.add(call_id)
        elif kind not in ("thinking", "redacted_thinking"):
            raise _block_error(kind, where)
    message: Json = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tools(payload: Json, chat: Json) -> None:
    tools = payload.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            raise bad("must be an array of tools.", "tools")
        out = []
        for k, tool in enumerate(tools):
            path = f"tools[{k}]"
            tool = obj(tool, path)
            if tool.get("type") not in (None, "custom"):
                raise refuse(f"The Anthropic-defined tool {tool['type']!r}", f"{path}.type")
            function: Json = {"name": string(tool.get("name"), f"{path}.name")}
            if tool.get("description") is not None:
                function["description"] = string(tool["description"], f"{path}.description")
            function["parameters"] = obj(tool.get("input_schema"), f"{path}.input_schema")
            if tool.get("strict") is True:
                function["strict"] = True
            names.append(function["name"])
            out.append({"type": "function", "function": function})
        if out:
            chat["tools"] = out
    choice = payload.get("tool_choice")
    if choice is None:
        return
    kind = obj(choice, "tool_choice").get("type")
    if kind not in ("auto", "any", "tool", "none"):
        raise bad('must be "auto", "any", "tool" or "none".', "tool_choice.type")
    if not names:
        if kind in ("any", "tool"):
            raise bad("needs tools.", "tool_choice")
        return
    if kind == "tool":
        name = string(choice.get("name"), "tool_choice.name")
        if name not in names:
            raise bad("names no tool in tools.", "tool_choice.name")
        chat["tool_choice"] = {"type": "function", "function": {"name": name}}
    else:
        chat["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[kind]
    if choice.get("disable_parallel_tool_use") is True and kind != "none":
        chat["parallel_tool_calls"] = False


def _thinking(thinking: object) -> None:
    if thinking is None:
        return
    kind = obj(thinking, "thinking").get("type")
    if kind in ("enabled", "adaptive"):
        raise refuse("Extended thinking", "thinking.type")
    if kind != "disabled":
        raise bad('must be "enabled", "adaptive" or "disabled".', "thinking.type")


def _output_config(config: object, chat: Json) -> None:
    if config is None:
        return
    config = obj(config, "output_config")
    for key, value in config.items():
        if value is None:
            continue
        if key == "effort":
            raise refuse("`output_config.effort`", "output_config.effort")
        if key != "format":
            raise WireError(f"output_config.{key}: unknown parameter.", param=f"output_config.{key}")
        fmt = obj(value, "output_config.format")
        if fmt.get("type") != "json_schema":
            raise bad('must be "json_schema".', "output_config.format.type")
        schema = obj(fmt.get("schema"), "output_config.format.schema")
        chat["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": True},
        }
