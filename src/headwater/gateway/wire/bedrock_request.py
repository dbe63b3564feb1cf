"""A chat completion request as a Bedrock Converse request body (pure; :mod:`.bedrock` re-exports it).

Converse takes ``messages`` of content blocks whose roles alternate and start with ``user``; the
system prompt apart (``system``); sampling in ``inferenceConfig``; tools in ``toolConfig``; and a
JSON schema for the answer in ``outputConfig``. The model id is in the URL, not the body.

- system and developer messages become ``system`` text blocks, wherever they stand;
- a tool message becomes a ``toolResult`` block in a user turn, and consecutive turns of one role
  (tool results then user text, say) are merged into one turn, as Converse requires;
- images must be ``data:`` URLs (Converse takes the bytes, base64 in JSON; it fetches no URL);
- a parameter Converse cannot honour (``n`` > 1, ``logprobs``, penalties, ``logit_bias``,
  ``response_format`` ``json_object``, ``parallel_tool_calls: false``, a ``temperature`` above 1, an
  unknown one...) is a :class:`WireError` naming it, never silently dropped; ``seed``, ``user``,
  ``stream_options`` and the like change nothing a client can rely on and are ignored.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Callable
from typing import Any

import orjson

from headwater.gateway.wire.base import Json, WireError

#: Parameters that change nothing in the answer a client may rely on (or are carried elsewhere).
_IGNORED = frozenset(
    {"model", "stream", "stream_options", "seed", "user", "store", "metadata", "service_tier"}
)
#: Parameters that are fine at their neutral value (or null) and untranslatable otherwise.
_NEUTRAL: dict[str, Callable[[Any], bool]] = {
    "n": lambda v: v == 1 and not isinstance(v, bool),
    "logprobs": lambda v: v is False,
    "top_logprobs": lambda v: v == 0 and not isinstance(v, bool),
    "presence_penalty": lambda v: v == 0 and not isinstance(v, bool),
    "frequency_penalty": lambda v: v == 0 and not isinstance(v, bool),
    "logit_bias": lambda v: v == {},
    "parallel_tool_calls": lambda v: v is True,
}
_HANDLED = frozenset(
    {
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "tools",
        "tool_choice",
    }
    | {"response_format"}
)
_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}


def request_from_chat(chat: Json, default_max_tokens: int) -> Json:
    """The Converse body for ``chat`` (raises WireError naming the parameter it cannot translate)."""
    for key, value in chat.items():
        if key in _IGNORED or key in _HANDLED:
            continue
        if key in _NEUTRAL:
            if value is not None and not _NEUTRAL[key](value):
                raise WireError(f"Bedrock's Converse API cannot honour `{key}` = {_show(value)}.", param=key)
            continue
        raise WireError(f"Bedrock's Converse API has no equivalent of `{key}`.", param=key)
    system, messages = _messages(chat.get("messages"))
    body: Json = {"messages": messages}
    if system:
        body["system"] = system
    body["inferenceConfig"] = _inference(chat, default_max_tokens)
    tool_config = _tool_config(chat, messages)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    output = _output_config(chat.get("response_format"))
    if output is not None:
        body["outputConfig"] = output
    return body


def _invalid(param: str, must: str) -> WireError:
    return WireError(f"`{param}` {must}.", param=param)


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + "..."


def _messages(raw: Any) -> tuple[list[Json], list[Json]]:
    if not isinstance(raw, list) or not raw:
        raise _invalid("messages", "must be a non-empty array")
    system: list[Json] = []
    turns: list[Json] = []
    first = -1
    for i, message in enumerate(raw):
        at = f"messages[{i}]"
        if not isinstance(message, dict):
            raise WireError(f"`{at}` must be an object.", param=at)
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(
                {"text": text} for text in _texts(message.get("content"), f"{at}.content") if text.strip()
            )
            continue
        if role == "user":
            turn_role, blocks = "user", _user_blocks(message.get("content"), f"{at}.content")
        elif role == "assistant":
            turn_role, blocks = "assistant", _assistant_blocks(message, at)
        elif role == "tool":
            turn_role, blocks = "user", [_tool_result(message, at)]
        else:
            raise _invalid(
                f"{at}.role", "must be system, developer, user, assistant or tool (Bedrock's Converse API)"
            )
        if not blocks:
            raise WireError(f"`{at}` has no content.", param=f"{at}.content")
        if first < 0:
            first = i
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": turn_role, "content": blocks})
    if not turns:
        raise _invalid("messages", "must include a user message")
    if turns[0]["role"] != "user":
        raise WireError(
            "Bedrock's Converse API needs the conversation to start with a user message.",
            param=f"messages[{first}].role",
        )
    return system, turns


def _texts(content: Any, at: str) -> list[str]:
    """The texts of a content that may only hold text (a string, or an array of text parts)."""
    if isinstance(content, str):
        return [content]
    if content is None:
        return []
    if not isinstance(content, list):
        raise WireError(f"`{at}` must be a string or an array of content parts.", param=at)
    texts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in ("text", "refusal"):
            raise WireError(f"`{at}[{j}]` must be a text part here.", param=f"{at}[{j}].type")
        text = part.get(kind)
        if not isinstance(text, str):
            raise _invalid(f"{at}[{j}].{kind}", "must be a string")
        texts.append(text)
    return texts


def _user_blocks(content: Any, at: str) -> list[Json]:
    if isinstance(content, str):
        return [{"text": content}] if content.strip() else []
    if not isinstance(content, list):
        raise WireError(f"`{at}` must be a string or an array of content parts.", param=at)
    blocks: list[Json] = []
    for j, part in enumerate(content):
        where = f"{at}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise _invalid(f"{where}.text", "must be a string")
            if text.strip():  # Converse refuses blank text blocks
                blocks.append({"text": text})
        elif kind == "image_url":
            blocks.append(_image(part.get("image_url"), f"{where}.image_url"))
        else:
            raise WireError(
                f"Bedrock's Converse API cannot take `{kind}` content here (text and images only).",
                param=f"{where}.type",
            )
    return blocks


def _image(image: Any, at: str) -> Json:
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise _invalid(f"{at}.url", "must be a string")
    if not url.startswith("data:"):
        raise WireError(
            "Bedrock's Converse API takes images as bytes, not URLs: send the image as a data: URL.",
            param=f"{at}.url",
        )
    header, comma, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    image_format = _IMAGE_FORMATS.get(media_type.lower())
    if image_format is None:
        raise WireError(
            f"Bedrock's Converse API takes png, jpeg, gif or webp images, not `{media_type[:40]}`.",
            param=f"{at}.url",
        )
    if not comma or encoding.lower() != "base64":
        raise WireError(
            "An image data: URL must be base64-encoded (`data:image/png;base64,...`).", param=f"{at}.url"
        )
    try:
        if not b64decode(data, validate=True):
            raise ValueError("empty")
    except (binascii.Error, ValueError):
        raise WireError("The image data: URL does not hold valid base64 data.", param=f"{at}.url") from None
    return {"image": {"format": image_format, "source": {"bytes": data}}}


def _assistant_blocks(message: Json, at: str) -> list[Json]:
    blocks: list[Json] = [
        {"text": text} for text in _texts(message.get("content"), f"{at}.content") if text.strip()
    ]
    calls = message.get("tool_calls")
    if calls is None:
        return blocks
    if not isinstance(calls, list):
        raise _invalid(f"{at}.tool_calls", "must be an array")
    for k, call in enumerate(calls):
        where = f"{at}.tool_calls[{k}]"
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(call, dict)
            or call.get("type", "function") != "function"
            or not isinstance(function, dict)
        ):
            raise WireError(f"`{where}` must be a function tool call.", param=where)
        call_id, name, arguments = call.get("id"), function.get("name"), function.get("arguments")
        if not isinstance(call_id, str) or not call_id:
            raise _invalid(f"{where}.id", "must be a non-empty string")
        if not isinstance(name, str) or not name:
            raise _invalid(f"{where}.function.name", "must be a non-empty string")
        try:
            tool_input = orjson.loads(arguments) if isinstance(arguments, str) and arguments.strip() else {}
        except orjson.JSONDecodeError:
            tool_input = None
        if not isinstance(tool_input, dict):
            raise WireError(
                f"`{where}.function.arguments` must be a JSON object (Bedrock's Converse API takes the "
                "tool input as JSON).",
                param=f"{where}.function.arguments",
            )
        blocks.append({"toolUse": {"toolUseId": call_id, "name": name, "input": tool_input}})
    return blocks


def _tool_result(message: Json, at: str) -> Json:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise _invalid(f"{at}.tool_call_id", "must be a non-empty string")
    content = message.get("content")
    if content is None:
        raise _invalid(f"{at}.content", "is required in a tool message")
    return {
        "toolResult": {
            "toolUseId": call_id,
            "content": [{"text": t} for t in _texts(content, f"{at}.content")],
        }
    }


def _number(chat: Json, key: str, top: float) -> float | None:
    value = chat.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError(f"`{key}` must be a number.", param=key)
    if not 0 <= value <= top:
        raise WireError(f"Bedrock's Converse API takes `{key}` from 0 to {top:g}.", param=key)
    return value


def _inference(chat: Json, default_max_tokens: int) -> Json:
    key = "max_completion_tokens" if chat.get("max_completion_tokens") is not None else "max_tokens"
    max_tokens = chat.get(key)
    if max_tokens is None:
        max_tokens = default_max_tokens
    elif isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise WireError(f"`{key}` must be a positive integer.", param=key)
    config: Json = {"maxTokens": max_tokens}
    for name, field in (("temperature", "temperature"), ("top_p", "topP")):
        value = _number(chat, name, 1)
        if value is not None:
            config[field] = value
    stop = chat.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise _invalid("stop", "must be a string or an array of strings")
        if any(stop):
            config["stopSequences"] = [s for s in stop if s]
    return config


def _tool_config(chat: Json, messages: list[Json]) -> Json | None:
    tools, choice = chat.get("tools"), chat.get("tool_choice")
    if tools is None or tools == []:
        if choice not in (None, "none", "auto"):
            raise _invalid("tool_choice", "names a tool but no `tools` are given")
        return None
    if not isinstance(tools, list):
        raise _invalid("tools", "must be an array")
    specs = [{"toolSpec": _tool_spec(tool, f"tools[{i}]")} for i, tool in enumerate(tools)]
    if choice == "none":
        if any("toolUse" in block or "toolResult" in block for m in messages for block in m["content"]):
            raise WireError(
                "Bedrock's Converse API cannot forbid tool calls in a conversation that holds some "
                "(`tool_choice` none with tool calls in `messages`).",
                param="tool_choice",
            )
        return None  # without tools the model calls none, which is what "none" asks
    config: Json = {"tools": specs}
    if choice is None or choice == "auto":
        return config
    if choice == "required":
        config["toolChoice"] = {"any": {}}
        return config
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(choice, dict) or choice.get("type") != "function" or not isinstance(name, str):
        raise WireError(
            '`tool_choice` must be none, auto, required or {"type": "function", "function": {"name": ...}} '
            "for Bedrock's Converse API.",
            param="tool_choice",
        )
    config["toolChoice"] = {"tool": {"name": name}}
    return config


def _tool_spec(tool: Any, at: str) -> Json:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
        raise WireError("Bedrock's Converse API takes function tools only.", param=f"{at}.type")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise _invalid(f"{at}.function.name", "must be a non-empty string")
    parameters = function.get("parameters")
    if parameters is None:
        parameters = {"type": "object", "properties": {}}
    elif not isinstance(parameters, dict):
        raise _invalid(f"{at}.function.parameters", "must be a JSON schema object")
    spec: Json = {"name": name}
    description = function.get("description")
    if description is not None and not isinstance(description, str):
        raise _invalid(f"{at}.function.description", "must be a string")
    if description:
        spec["description"] = description
    spec["inputSchema"] = {"json": parameters}
    if isinstance(function.get("strict"), bool):
        spec["strict"] = function["strict"]
    return spec


def _output_config(response_format: Any) -> Json | None:
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind != "json_schema":
        raise WireError(
            "Bedrock's Converse API takes `response_format` text or json_schema only.",
            param="response_format.type",
        )
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not isinstance(schema, dict):
        raise WireError(
            "`response_format.json_schema.schema` must be an object.", param="response_format.json_schema"
        )
    definition: Json = {"schema": orjson.dumps(schema).decode()}
    for key in ("name", "description"):
        if isinstance(spec.get(key), str) and spec[key]:
            definition[key] = spec[key]
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}
