"""What Bedrock's Converse checks in a request body, in its words (test code for :mod:`.bedrock`).

The messages are Bedrock's as it answers them (``ValidationException`` texts); the members are
those of ``ConverseRequest`` in botocore's service model.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

START_WITH_USER = (
    "A conversation must start with a user message. Try again with a conversation that starts with "
    "a user message."
)
MEMBERS = frozenset(
    {
        "messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig",
        "additionalModelRequestFields",
        "promptVariables", "additionalModelResponseFieldPaths", "requestMetadata", "performanceConfig",
        "serviceTier", "outputConfig",
    }
)  # fmt: skip
BLOCKS = frozenset(
    {"text", "image", "document", "video", "toolUse", "toolResult", "cachePoint", "reasoningContent"}
)


def check_body(body: Any) -> str | None:
    """Why Bedrock would reject this Converse body, in its words; None if it would not."""
    if not isinstance(body, dict):
        return "Malformed input request, please reformat your input and try again."
    for name in body:
        if name not in MEMBERS:
            return _malformed(f"extraneous key [{name}] is not permitted")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _constraint("null", "messages", "not be null").replace("'null'", "null")
    tool_blocks = False
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            return _constraint(
                role, f"messages.{i + 1}.member.role", "satisfy enum value set: [user, assistant]"
            )
        if i == 0 and role != "user":
            return START_WITH_USER
        if i and messages[i - 1].get("role") == role:
            return (
                "A conversation must alternate between user and assistant roles. Make sure the conversation "
                "alternates between user and assistant roles and try again."
            )
        content = message.get("content")
        if not isinstance(content, list) or not content:
            return (
                f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock "
                "object to the content field and try again."
            )
        for j, block in enumerate(content):
            problem = check_block(block, f"messages.{i}.content.{j}")
            if problem is not None:
                return problem
            tool_blocks = tool_blocks or "toolUse" in block or "toolResult" in block
    if tool_blocks and "toolConfig" not in body:
        return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    return check_config(body)


def check_block(block: Any, where: str) -> str | None:
    if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in BLOCKS:
        return _malformed(f"#/{where.replace('.', '/')}: expected exactly one content block member")
    if "text" in block and (not isinstance(block["text"], str) or not block["text"].strip()):
        return _blank("ContentBlock", where)
    if "image" in block:
        image = block["image"]
        if image.get("format") not in ("png", "jpeg", "gif", "webp"):
            return _malformed(f"#/{where.replace('.', '/')}/image/format: not a valid enum value")
        try:
            base64.b64decode(image["source"]["bytes"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            return _malformed(f"#/{where.replace('.', '/')}/image/source: bytes is not valid base64")
    if "toolUse" in block and not isinstance(block["toolUse"].get("input"), dict):
        return f"The toolUse input at {where} must be a JSON object."
    return None


def _constraint(value: Any, at: str, rule: str) -> str:
    detected = f"1 validation error detected: Value '{value}' at '{at}'"
    return f"{detected} failed to satisfy constraint: Member must {rule}"


def _malformed(detail: str) -> str:
    return f"Malformed input request: {detail}, please reformat your input and try again."


def _blank(kind: str, where: str) -> str:
    return (
        f"The text field in the {kind} object at {where} is blank. Add text to the text field, and try again."
    )


def check_config(body: dict[str, Any]) -> str | None:
    config = body.get("inferenceConfig") or {}
    for name, top in (("temperature", 1), ("topP", 1)):
        value = config.get(name)
        if value is not None and not 0 <= value <= top:
            return _constraint(value, f"inferenceConfig.{name}", f"have value less than or equal to {top}")
    tokens = config.get("maxTokens")
    if tokens is not None and (not isinstance(tokens, int) or tokens < 1):
        return _constraint(tokens, "inferenceConfig.maxTokens", "have value greater than or equal to 1")
    for j, block in enumerate(body.get("system") or []):
        if not isinstance(block, dict) or not str(block.get("text", "")).strip():
            return _blank("SystemContentBlock", f"system.{j}")
    tools = (body.get("toolConfig") or {}).get("tools")
    if "toolConfig" in body and (not isinstance(tools, list) or not tools):
        return _constraint("[]", "toolConfig.tools", "have length greater than or equal to 1")
    for j, tool in enumerate(tools or []):
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if not isinstance(spec, dict) or not isinstance(spec.get("inputSchema", {}).get("json"), dict):
            return f"The toolSpec at toolConfig.tools.{j} needs a name and an inputSchema.json object."
    return None
