"""Anthropic's Messages API as an upstream: a chat completion request translated for Anthropic.

- :func:`request_from_chat` translates a chat completion request for ``POST /v1/messages``:
  system and developer messages become ``system``; consecutive tool messages one user turn of
  ``tool_result`` blocks (before any other block of that turn: consecutive turns of one role are
  merged); tool calls ``tool_use`` blocks; images base64 or url sources; ``max_completion_tokens``
  or ``max_tokens`` (else the deployment's default); stop strings, tools, tool choice, ``user``,
  streaming; a ``json_schema`` response format Anthropic's structured output
  (``output_config.format``).
- What Anthropic cannot serve faithfully raises :class:`WireError` naming the parameter: ``n`` > 1,
  log probabilities, a ``json_object`` response format, non-zero presence/frequency penalties, logit
  bias, audio, a temperature above 1, tool arguments that are not a JSON object, and any parameter
  this module does not know. Harmless ones are ignored: ``stream_options``, ``seed``, ``store``,
  ``metadata``, ``service_tier``, ``prompt_cache_key``, ``parallel_tool_calls`` true (false becomes
  ``disable_parallel_tool_use``).

The answer comes back through :mod:`.anthropic_native`.
"""

from __future__ import annotations

import orjson

from headwater.gateway.wire.anthropic_fields import bad, integer, number, obj, refuse, string
from headwater.gateway.wire.base import Json

#: Parameters translated, checked, or ignored as harmless; any other one is refused.
_KNOWN = frozenset(
    {
        "model", "stream_options", "seed", "store", "metadata", "service_tier", "prompt_cache_key",
        "parallel_tool_calls", "n", "logprobs", "presence_penalty", "frequency_penalty", "logit_bias",
        "modalities", "response_format", "messages", "max_tokens", "max_completion_tokens", "stop",
        "temperature", "top_p", "top_k", "tools", "tool_choice", "user", "safety_identifier", "stream",
    }
)  # fmt: skip
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def request_from_chat(chat: Json, upstream_model: str, default_max_tokens: int) -> Json:
    """The Messages request that serves a chat completion request, for ``upstream_model``."""
    _refuse_untranslatable(chat)
    system, turns = _conversation(chat.get("messages"))
    native: Json = {"model": upstream_model}
    if system:
        native["system"] = system[0]["text"] if len(system) == 1 else system
    native["messages"] = turns
    limit = chat.get("max_completion_tokens")
    key = "max_completion_tokens"
    if limit is None:
        limit, key = chat.get("max_tokens"), "max_tokens"
    native["max_tokens"] = default_max_tokens if limit is None else integer(limit, key, 1)
    stop = chat.get("stop")
    if isinstance(stop, str):
        native["stop_sequences"] = [stop]
    elif isinstance(stop, list):
        native["stop_sequences"] = [string(item, f"stop[{i}]") for i, item in enumerate(stop)]
    elif stop is not None:
        raise bad("must be a string or an array of strings.", "stop")
    if chat.get("temperature") is not None:
        number(chat["temperature"], "temperature", 0, 2)
        native["temperature"] = number(chat["temperature"], "temperature", 0, 1)
    if chat.get("top_p") is not None:
        native["top_p"] = number(chat["top_p"], "top_p", 0, 1)
    if chat.get("top_k") is not None:
        native["top_k"] = integer(chat["top_k"], "top_k", 1)
    _tools(chat, native)
    _response_format(chat.get("response_format"), native)
    user = chat.get("user") if chat.get("user") is not None else chat.get("safety_identifier")
    if user is not None:
        native["metadata"] = {"user_id": string(user, "user")}
    if chat.get("stream") is True:
        native["stream"] = True
    return native


def _refuse_untranslatable(chat: Json) -> None:
    for key, value in chat.items():
        if value is not None and key not in _KNOWN:
            raise refuse(f"`{key}`", key)
    n = chat.get("n")
    if n is not None and n != 1:
        raise refuse("More than one choice (`n`)", "n")
    if chat.get("logprobs"):
        raise refuse("Log probabilities", "logprobs")
    for key in ("presence_penalty", "frequency_penalty"):
        if chat.get(key):
            raise refuse(f"`{key}`", key)
    if chat.get("logit_bias"):
        raise refuse("`logit_bias`", "logit_bias")
    modalities = chat.get("modalities")
    if modalities is not None and modalities != ["text"]:
        raise refuse("An output modality other than text", "modalities")
    temperature = chat.get("temperature")
    if isinstance(temperature, int | float) and not isinstance(temperature, bool) and 1 < temperature <= 2:
        raise refuse("A temperature above 1", "temperature")


def _conversation(messages: object) -> tuple[list[Json], list[Json]]:
    if not isinstance(messages, list) or not messages:
        raise bad("must be a non-empty array of messages.", "messages")
    system: list[Json] = []
    turns: list[Json] = []
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        message = obj(message, path)
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text(message.get("content"), f"{path}.content")
            if text:
                system.append({"type": "text", "text": text})
            continue
        if role == "user":
            blocks = _user_blocks(message.get("content"), f"{path}.content")
        elif role == "assistant":
            blocks = _assistant_blocks(message, path)
        elif role == "tool":
            role, blocks = "user", [_tool_result(message, path)]
        else:
            raise bad('must be "system", "developer", "user", "assistant" or "tool".', f"{path}.role")
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += blocks
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        content = turn["content"]
        if turn["role"] == "user":  # Anthropic wants a turn's tool results before anything else
            content.sort(key=lambda block: block["type"] != "tool_result")
        if len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]
    if not turns:
        raise bad("must hold a user or assistant message.", "messages")
    return system, turns


def _text(content: object, path: str) -> str:
    """The text of a system, developer or tool message (a string or text parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise bad("must be a string or an array of text parts.", path)
    texts = []
    for j, part in enumerate(content):
        part = obj(part, f"{path}[{j}]")
        if part.get("type") != "text":
            raise refuse(f"A {part.get('type')!r} part here", f"{path}[{j}].type")
        texts.append(string(part.get("text"), f"{path}[{j}].text"))
    return "\n".join(texts)


def _user_blocks(content: object, path: str) -> list[Json]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise bad("must be a string or an array of content parts.", path)
    blocks: list[Json] = []
    for j, part in enumerate(content):
        where = f"{path}[{j}]"
        kind = obj(part, where).get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": string(part.get("text"), f"{where}.text")})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            blocks.append({"type": "image", "source": _image_source(url, f"{where}.image_url.url")})
        elif kind in ("input_audio", "file"):
            raise refuse(f"A {kind!r} content part", f"{where}.type")
        else:
            raise bad(f"unknown content part type {kind!r}.", f"{where}.type")
    return blocks


def _image_source(url: object, path: str) -> Json:
    url = string(url, path)
    if url.startswith(("https://", "http://")):
        return {"type": "url", "url": url}
    if url.startswith("data:"):
        header, comma, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not comma or encoding != "base64":
            raise bad("a data: URL must be base64.", path)
        if media_type not in _IMAGE_TYPES:
            raise refuse(f"An image of type {media_type!r}", path)
        return {"type": "base64", "media_type": media_type, "data": data}
    raise bad("must be an http(s) or data: URL.", path)


def _assistant_blocks(message: Json, path: str) -> list[Json]:
    blocks: list[Json] = []
    content = message.get("content")
    if isinstance(content, list):
        for j, part in enumerate(content):
            where = f"{path}.content[{j}]"
            kind = obj(part, where).get("type")
            if kind not in ("text", "refusal"):
                raise bad(f"unknown content part type {kind!r}.", f"{where}.type")
            text = string(part.get(kind), f"{where}.{kind}")
            if text:
                blocks.append({"type": "text", "text": text})
    elif content is not None and string(content, f"{path}.content"):
        blocks.append({"type": "text", "text": content})
    if message.get("function_call") is not None:
        raise refuse("A legacy `function_call`", f"{path}.function_call")
    calls = message.get("tool_calls")
    if calls is None:
        return blocks
    if not isinstance(calls, list):
        raise bad("must be an array of tool calls.", f"{path}.tool_calls")
    for k, call in enumerate(calls):
        where = f"{path}.tool_calls[{k}]"
        call = obj(call, where)
        if call.get("type", "function") != "function":
            raise refuse(f"A {call.get('type')!r} tool call", f"{where}.type")
        function = obj(call.get("function"), f"{where}.function")
        blocks.append(
            {
                "type": "tool_use",
                "id": string(call.get("id"), f"{where}.id"),
                "name": string(function.get("name"), f"{where}.function.name"),
                "input": _arguments(function.get("arguments"), f"{where}.function.arguments"),
            }
        )
    return blocks


def _arguments(arguments: object, path: str) -> Json:
    text = string(arguments, path)
    if not text.strip():
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise bad("must be a JSON object (the text is not valid JSON).", path) from None
    return obj(value, path)


def _tool_result(message: Json, path: str) -> Json:
    block: Json = {
        "type": "tool_result",
        "tool_use_id": string(message.get("tool_call_id"), f"{path}.tool_call_id"),
    }
    text = _text(message.get("content"), f"{path}.content")
    if text:
        block["content"] = text
    return block


def _tools(chat: Json, native: Json) -> None:
    tools = chat.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            raise bad("must be an array of tools.", "tools")
        out = []
        for k, tool in enumerate(tools):
            path = f"tools[{k}]"
            if obj(tool, path).get("type") != "function":
                raise refuse(f"A {tool.get('type')!r} tool", f"{path}.type")
            function = obj(tool.get("function"), f"{path}.function")
            spec: Json = {"name": string(function.get("name"), f"{path}.function.name")}
            if function.get("description") is not None:
                spec["description"] = string(function["description"], f"{path}.function.description")
            schema = function.get("parameters")
            spec["input_schema"] = (
                {"type": "object", "properties": {}}
                if schema is None
                else obj(schema, f"{path}.function.parameters")
            )
            if function.get("strict") is True:
                spec["strict"] = True
            names.append(spec["name"])
            out.append(spec)
        if out:
            native["tools"] = out
    choice = _tool_choice(chat.get("tool_choice"), names)
    if chat.get("parallel_tool_calls") is False and names and (choice or {}).get("type") != "none":
        choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
    if choice is not None and names:
        native["tool_choice"] = choice


def _response_format(fmt: object, native: Json) -> None:
    if fmt is None:
        return
    fmt = obj(fmt, "response_format")
    kind = fmt.get("type")
    if kind == "json_schema":
        spec = obj(fmt.get("json_schema"), "response_format.json_schema")
        schema = obj(spec.get("schema"), "response_format.json_schema.schema")
        native["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    elif kind == "json_object":
        raise refuse("A `json_object` response format (Anthropic needs a schema)", "response_format.type")
    elif kind != "text":
        raise bad('must be "text", "json_schema" or "json_object".', "response_format.type")


def _tool_choice(choice: object, names: list[str]) -> Json | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise bad('must be "none", "auto", "required" or a function.', "tool_choice")
        if choice == "required" and not names:
            raise bad("needs tools.", "tool_choice")
        return {"type": "any" if choice == "required" else choice}
    choice = obj(choice, "tool_choice")
    if choice.get("type") != "function":
        raise refuse(f"A {choice.get('type')!r} tool choice", "tool_choice.type")
    name = string(
        obj(choice.get("function"), "tool_choice.function").get("name"), "tool_choice.function.name"
    )
    if name not in names:
        raise bad("names no tool in tools.", "tool_choice.function.name")
    return {"type": "tool", "name": name}
