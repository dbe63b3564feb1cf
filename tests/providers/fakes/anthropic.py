"""A local fake of Anthropic's Messages API that checks requests as Anthropic does and replays its bytes.

``POST /v1/messages`` (JSON or, with ``"stream": true``, server-sent events), ``POST
/v1/messages/count_tokens`` and ``GET /v1/models``. A request must carry ``x-api-key`` equal to the
fake's key, or ``Authorization: Bearer <key>`` as the anthropic SDK 2.x sends it (else 401
``authentication_error``), an ``anthropic-version`` header (else 400) and a JSON
body that Anthropic would accept (else 400 ``invalid_request_error`` naming the field, as Anthropic
words it: ``max_tokens: Field required``, ``foo: Extra inputs are not permitted``, a ``system`` role in
``messages``, a ``tool_result`` without its ``tool_use``...). An accepted request gets the recorded
bytes from ``tests/providers/fixtures/anthropic/`` (see its README) for the queued scenario, with
``"model"`` set to the requested model:

- ``text`` (default), ``tool`` (a ``get_weather`` call with ``{"location": "San Francisco, CA"}``);
- ``error:400|401|403|404|413|429|500|529``: Anthropic's error body (``429`` with ``retry-after`` and
  ``anthropic-ratelimit-*`` headers);
- ``hang``: never sends the headers; ``stall``: the stream's first events, then silence;
  ``stream-error``: the first events, then ``event: error`` (overloaded); ``disconnect``: the first
  events, then the connection dropped. A request that does not stream gets, for ``stall`` and
  ``disconnect``, the headers and half the body; for ``stream-error``, the 529 error.
"""

from __future__ import annotations

import functools
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.providers.fakes.replay import ReplayServer, Reply, Request, ending_for, split_events, substitute

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "anthropic"
RECORDED_MODEL = "claude-sonnet-4-5-20250929"
ERRORS = (400, 401, 403, 404, 413, 429, 500, 529)
SCENARIOS = frozenset(
    {"text", "tool", "hang", "stall", "stream-error", "disconnect", *(f"error:{code}" for code in ERRORS)}
)
#: How many events of a stream are sent before a stall, a disconnect or an in-stream error: up to and
#: including the first text delta.
FIRST_EVENTS = 4
RETRY_AFTER_S = 2
MESSAGE_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "system", "stream", "temperature", "top_p", "top_k",
        "stop_sequences", "tools", "tool_choice", "metadata", "thinking", "service_tier", "container",
        "mcp_servers", "context_management", "output_config", "output_format",
    }
)  # fmt: skip
COUNT_FIELDS = frozenset(
    {"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "output_format"}
)
SYSTEM_ROLE = (
    'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, '
    'not "system" as an input message role.'
)


@functools.cache
def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def request_id() -> str:
    return "req_011C" + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")


class FakeAnthropic(ReplayServer):
    """``with FakeAnthropic() as fake:`` a deployment's ``base_url`` is ``fake.base_url``."""

    scenarios = SCENARIOS

    def __init__(self, *, api_key: str | None = None, event_delay: float = 0.0) -> None:
        super().__init__(event_delay=event_delay)
        self.api_key = api_key or "sk-ant-api03-" + secrets.token_urlsafe(32)
        self.organization = str(uuid.uuid4())

    @property
    def base_url(self) -> str:
        """What a deployment's ``base_url`` is set to (the SDKs take :attr:`origin`, without ``/v1``)."""
        return f"{self.origin}/v1"

    # ---- checks, in Anthropic's order ---------------------------------------------------------------
    def answer(self, request: Request) -> Reply:
        route = (request.method, request.path)
        if route not in {
            ("POST", "/v1/messages"),
            ("POST", "/v1/messages/count_tokens"),
            ("GET", "/v1/models"),
        }:
            return self.error(404, "not_found_error", "Not Found")
        key = request.headers.get("x-api-key")
        authorization = request.headers.get("authorization", "")
        if key is None and authorization[:7].lower() == "bearer ":
            key = authorization[7:].strip()  # how the anthropic SDK 2.x sends an API key
        if key is None:
            return self.error(401, "authentication_error", "x-api-key header is required")
        if not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return self.recorded_error(401)
        if not request.headers.get("anthropic-version"):
            return self.error(400, "invalid_request_error", "anthropic-version: header is required")
        if request.method == "GET":
            return self.answer_plain(self.take_scenario(), fixture("models.json"))
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return self.error(400, "invalid_request_error", "content-type: must be application/json")
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "invalid_request_error", "The request body is not valid JSON.")
        counting = request.path.endswith("/count_tokens")
        problem = check_body(body, counting=counting)
        if problem is not None:
            return self.error(400, "invalid_request_error", problem)
        scenario = self.take_scenario()
        if counting:
            return self.answer_plain(scenario, fixture("count_tokens.json"))
        return self.answer_message(scenario, str(body["model"]), body.get("stream") is True)

    # ---- replies ------------------------------------------------------------------------------------
    def answer_message(self, scenario: str, model: str, stream: bool) -> Reply:
        if scenario.startswith("error:") or scenario == "hang" or not stream:
            recorded = fixture("message_tool.json" if scenario == "tool" else "message_text.json")
            return self.answer_plain(scenario, substitute(recorded, "model", RECORDED_MODEL, model), model)
        recorded = fixture("message_tool.sse" if scenario == "tool" else "message_text.sse")
        events = split_events(substitute(recorded, "model", RECORDED_MODEL, model))
        headers = (*self.headers(request_id()), ("content-type", "text/event-stream; charset=utf-8"))
        headers += (("cache-control", "no-cache"),)
        if scenario in ("text", "tool"):
            return Reply(200, headers, events=events)
        first = events[:FIRST_EVENTS]
        if scenario == "stream-error":
            return Reply(200, headers, events=(*first, fixture("stream_error.sse")))
        return Reply(200, headers, events=first, ending="stall" if scenario == "stall" else "disconnect")

    def answer_plain(self, scenario: str, body: bytes, model: str = RECORDED_MODEL) -> Reply:
        """A reply that does not stream: the recorded ``body``, or what ``scenario`` makes of it."""
        if scenario.startswith("error:"):
            return self.recorded_error(int(scenario.removeprefix("error:")), model)
        if scenario == "stream-error":
            return self.recorded_error(529)
        if scenario == "hang":
            return Reply(200, ending="hang")
        headers = (*self.headers(request_id()), ("content-type", "application/json"))
        return Reply(200, headers, body, ending=ending_for(scenario))

    def recorded_error(self, status: int, model: str = RECORDED_MODEL) -> Reply:
        body = fixture(f"error_{status}.json").replace(
            RECORDED_MODEL.encode(), json.dumps(model)[1:-1].encode()
        )
        headers = (*self.headers(json.loads(body)["request_id"]), ("content-type", "application/json"))
        if status == 429:
            reset = (datetime.now(UTC) + timedelta(seconds=RETRY_AFTER_S)).strftime("%Y-%m-%dT%H:%M:%SZ")
            headers += (
                ("retry-after", str(RETRY_AFTER_S)),
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-remaining", "49"),
                ("anthropic-ratelimit-requests-reset", reset),
                ("anthropic-ratelimit-input-tokens-limit", "30000"),
                ("anthropic-ratelimit-input-tokens-remaining", "0"),
                ("anthropic-ratelimit-input-tokens-reset", reset),
                ("anthropic-ratelimit-output-tokens-limit", "8000"),
                ("anthropic-ratelimit-output-tokens-remaining", "8000"),
                ("anthropic-ratelimit-output-tokens-reset", reset),
                ("anthropic-ratelimit-tokens-limit", "38000"),
                ("anthropic-ratelimit-tokens-remaining", "8000"),
                ("anthropic-ratelimit-tokens-reset", reset),
            )
        elif status == 529:
            headers += (("x-should-retry", "true"),)
        return Reply(status, headers, body)

    def error(self, status: int, kind: str, message: str) -> Reply:
        """An error the fake's checks raise, in Anthropic's shape."""
        rid = request_id()
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": rid}
        headers = (*self.headers(rid), ("content-type", "application/json"))
        return Reply(status, headers, json.dumps(body, separators=(",", ":")).encode())

    def headers(self, rid: str) -> tuple[tuple[str, str], ...]:
        return (
            ("request-id", rid),
            ("anthropic-organization-id", self.organization),
            ("server", "cloudflare"),
        )


# ---- the body checks ------------------------------------------------------------------------------
def check_body(body: Any, *, counting: bool) -> str | None:
    """Why Anthropic would reject this Messages (or count_tokens) body, in its words; None if it would not."""
    if not isinstance(body, dict):
        return "Input should be a valid dictionary"
    allowed = COUNT_FIELDS if counting else MESSAGE_FIELDS
    for name in body:
        if name not in allowed:
            return f"{name}: Extra inputs are not permitted"
    for name in ("model", "messages") if counting else ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    if not isinstance(body["model"], str) or not body["model"]:
        return "model: Input should be a valid string"
    if not counting:
        tokens = body["max_tokens"]
        if not isinstance(tokens, int) or isinstance(tokens, bool):
            return "max_tokens: Input should be a valid integer"
        if tokens < 1:
            return "max_tokens: Input should be greater than or equal to 1"
    if "stream" in body and not isinstance(body["stream"], bool):
        return "stream: Input should be a valid boolean"
    temperature = body.get("temperature")
    if temperature is not None and (not isinstance(temperature, int | float) or not 0 <= temperature <= 1):
        return "temperature: Input should be less than or equal to 1"
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: Input should be a valid string"
    return check_messages(body["messages"]) or check_tools(body.get("tools"), body.get("tool_choice"))


def check_messages(messages: Any) -> str | None:
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    if not messages:
        return "messages: at least one message is required"
    previous_tool_uses: set[str] = set()
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, dict):
            return f"{where}: Input should be a valid dictionary"
        role = message.get("role")
        if role == "system":
            return SYSTEM_ROLE
        if role not in ("user", "assistant"):
            return f"{where}.role: Input should be 'user' or 'assistant'"
        if "content" not in message:
            return f"{where}.content: Field required"
        content = message["content"]
        if not isinstance(content, str | list):
            return f"{where}.content: Input should be a valid list"
        blocks = content if isinstance(content, list) else []
        for number, block in enumerate(blocks):
            if not isinstance(block, dict) or "type" not in block:
                return f"{where}.content.{number}.type: Field required"
            if block["type"] == "tool_result" and block.get("tool_use_id") not in previous_tool_uses:
                return (
                    f"{where}.content.{number}: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )
        previous_tool_uses = {
            str(block.get("id"))
            for block in blocks
            if isinstance(block, dict) and block.get("type") == "tool_use"
        }
    return None


def check_tools(tools: Any, choice: Any) -> str | None:
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict):
                return f"tools.{index}: Input should be a valid dictionary"
            if "type" in tool and tool["type"] != "custom":
                continue  # a server tool (web_search_20250305, ...): its own fields
            for name in ("name", "input_schema"):
                if name not in tool:
                    return f"tools.{index}.{name}: Field required"
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            tags = "'auto', 'any', 'tool', 'none'"
            return f"tool_choice: Input tag does not match any of the expected tags: {tags}"
        if choice["type"] == "tool" and "name" not in choice:
            return "tool_choice.tool.name: Field required"
    return None
