"""A local fake of an Azure OpenAI resource that checks requests as Azure does and replays its bytes.

It serves ``POST /openai/deployments/{deployment}/chat/completions`` and ``.../embeddings`` and the
Responses API at ``POST /openai/responses`` (whose ``model`` is a deployment), each with an
``?api-version=`` query. Checks, in Azure's order: the route and ``api-version`` (missing: 404
``Resource not found``; not a version: 400 ``API version not supported``), the ``api-key`` header
(missing or wrong: 401 with Azure's message; ``Authorization: Bearer`` is an Entra ID token, never
an API key, so a key sent that way is refused too), the deployment (404 ``DeploymentNotFound``), then
the body as the OpenAI service behind Azure checks it (400 ``invalid_request_error`` naming ``param``:
a missing ``messages``, an unknown argument such as Anthropic's ``top_k``, a ``tool`` message that
answers no ``tool_calls``...).

An accepted request gets the recorded bytes of ``tests/providers/fixtures/azure/`` (see its README),
``"model"`` being the deployment's model: ``prompt_filter_results`` and per-choice
``content_filter_results``; a stream whose first chunk has ``choices: []``, then the deltas, then the
usage chunk when ``stream_options.include_usage``, then ``data: [DONE]``. Scenarios: ``text``
(default), ``tool`` (a ``get_weather`` call), ``error:400|401|403|404|429|500`` (429 with
``retry-after``, ``retry-after-ms`` and ``x-ratelimit-*``), ``content-filter`` (400 ``content_filter``
with ``innererror.content_filter_result``), ``hang``, ``stall``, ``stream-error`` (an in-stream
``data: {"error": ...}``) and ``disconnect``; see :mod:`tests.providers.fakes.anthropic` for the last four.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import uuid
from pathlib import Path
from typing import Any

from tests.providers.fakes.replay import ReplayServer, Reply, Request, ending_for, split_events, substitute

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "azure"
RECORDED_CHAT_MODEL = "gpt-4o-2024-11-20"
RECORDED_EMBEDDING_MODEL = "text-embedding-3-small"
ERRORS = (400, 401, 403, 404, 429, 500)
SCENARIOS = frozenset(
    {
        "text", "tool", "content-filter", "hang", "stall", "stream-error", "disconnect",
        *(f"error:{code}" for code in ERRORS),
    }
)  # fmt: skip
#: Chunks of a stream sent before a stall, a disconnect or an in-stream error: the prompt filter
#: results, the role and the first text delta.
FIRST_EVENTS = 3
RETRY_AFTER_S = 2
DEPLOYMENT_ROUTE = re.compile(
    r"^/openai/deployments/(?P<deployment>[^/]+)/(?P<api>chat/completions|embeddings)$"
)
API_VERSION = re.compile(r"^(\d{4}-\d{2}-\d{2}(-preview)?|preview|latest)$")
CHAT_FIELDS = frozenset(
    {
        "messages", "model", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "max_tokens",
        "max_completion_tokens", "n", "presence_penalty", "response_format", "seed", "stop", "stream",
        "stream_options", "temperature", "top_p", "tools", "tool_choice", "parallel_tool_calls", "user",
        "functions", "function_call", "data_sources", "reasoning_effort", "store", "metadata", "modalities",
        "prediction", "audio", "service_tier", "user_security_context", "verbosity", "prompt_cache_key",
        "safety_identifier",
    }
)  # fmt: skip
EMBEDDING_FIELDS = frozenset({"input", "model", "user", "encoding_format", "dimensions", "input_type"})
ROLES = ("system", "assistant", "user", "function", "tool", "developer")
NOT_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
    "library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you "
    "have trouble figuring out how to fix this, please contact us through our help center at "
    "help.openai.com.)"
)
DEFAULT_DEPLOYMENTS = {"gpt-4o": RECORDED_CHAT_MODEL, "text-embedding-3-small": RECORDED_EMBEDDING_MODEL}


@functools.cache
def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class FakeAzureOpenAI(ReplayServer):
    """``with FakeAzureOpenAI() as fake:`` a deployment's ``base_url`` (the resource endpoint) is
    ``fake.base_url``; ``deployments`` maps each deployment's name to the model it serves."""

    scenarios = SCENARIOS

    def __init__(
        self,
        *,
        api_key: str | None = None,
        deployments: dict[str, str] | None = None,
        event_delay: float = 0.0,
    ) -> None:
        super().__init__(event_delay=event_delay)
        self.api_key = api_key or secrets.token_hex(16)
        self.deployments = dict(DEFAULT_DEPLOYMENTS if deployments is None else deployments)

    @property
    def base_url(self) -> str:
        return self.origin

    # ---- checks, in Azure's order ------------------------------------------------------------------
    def answer(self, request: Request) -> Reply:
        route = DEPLOYMENT_ROUTE.match(request.path)
        responses = request.path == "/openai/responses"
        if request.method != "POST" or (route is None and not responses):
            return self.recorded(404, "error_404_resource.json")
        version = request.query.get("api-version")
        if not version:
            return self.recorded(404, "error_404_resource.json")
        if not API_VERSION.match(version):
            return self.recorded(400, "error_400_api_version.json")
        key = request.headers.get("api-key")
        if key is None:
            bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
            return self.recorded(401, "error_401_bearer.json" if bearer else "error_401_missing.json")
        if not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return self.recorded(401, "error_401.json")
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self.invalid(NOT_JSON, None, None)
        deployment = route["deployment"] if route is not None else body.get("model")
        if not isinstance(deployment, str) or deployment not in self.deployments:
            if responses and deployment is None:
                return self.invalid(
                    "Missing required parameter: 'model'.", "model", "missing_required_parameter"
                )
            return self.recorded(404, "error_404.json")
        model = self.deployments[deployment]
        if responses:
            return self.answer_responses(body, model)
        if route is not None and route["api"] == "embeddings":
            return self.answer_embeddings(body, model)
        problem = check_chat(body)
        if problem is not None:
            return self.invalid(*problem)
        scenario = self.take_scenario()
        options = body.get("stream_options")
        usage = isinstance(options, dict) and options.get("include_usage") is True
        return self.answer_chat(scenario, model, body.get("stream") is True, usage)

    # ---- replies ------------------------------------------------------------------------------------
    def answer_chat(self, scenario: str, model: str, stream: bool, usage: bool) -> Reply:
        name = "chat_tool" if scenario == "tool" else "chat_text"
        if scenario.startswith("error:") or scenario in ("hang", "content-filter") or not stream:
            return self.answer_plain(
                scenario, substitute(fixture(f"{name}.json"), "model", RECORDED_CHAT_MODEL, model)
            )
        events = split_events(substitute(fixture(f"{name}.sse"), "model", RECORDED_CHAT_MODEL, model))
        if usage:
            last = split_events(substitute(fixture(f"{name}_usage.sse"), "model", RECORDED_CHAT_MODEL, model))
            events = (*events[:-1], *last, events[-1])  # the usage chunk comes just before [DONE]
        return self.stream(scenario, events)

    def answer_embeddings(self, body: dict[str, Any], model: str) -> Reply:
        for name in body:
            if name not in EMBEDDING_FIELDS:
                return self.invalid(f"Unrecognized request argument supplied: {name}", None, None)
        inputs = body.get("input")
        if inputs is None:
            return self.invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
        scenario = self.take_scenario()
        recorded = substitute(fixture("embeddings.json"), "model", RECORDED_EMBEDDING_MODEL, model)
        count = len(inputs) if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int) else 1
        if count > 1:  # the recorded vector for each input (the one recorded answered one input)
            document = json.loads(recorded)
            document["data"] = [{**document["data"][0], "index": index} for index in range(count)]
            recorded = json.dumps(document, separators=(",", ":")).encode()
        return self.answer_plain(scenario, recorded)

    def answer_responses(self, body: dict[str, Any], model: str) -> Reply:
        if "input" not in body and "previous_response_id" not in body:
            return self.invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
        scenario = self.take_scenario()
        if scenario == "tool":
            scenario = "text"  # no recorded tool call for the Responses API
        if (
            scenario.startswith("error:")
            or scenario in ("hang", "content-filter")
            or body.get("stream") is not True
        ):
            return self.answer_plain(
                scenario, substitute(fixture("responses_text.json"), "model", RECORDED_CHAT_MODEL, model)
            )
        events = split_events(substitute(fixture("responses_text.sse"), "model", RECORDED_CHAT_MODEL, model))
        return self.stream(scenario, events)

    def stream(self, scenario: str, events: tuple[bytes, ...]) -> Reply:
        headers = (*self.headers(), ("content-type", "text/event-stream; charset=utf-8"))
        if scenario in ("text", "tool"):
            return Reply(200, headers, events=events)
        first = events[:FIRST_EVENTS]
        if scenario == "stream-error":
            return Reply(200, headers, events=(*first, fixture("stream_error.sse")))
        return Reply(200, headers, events=first, ending="stall" if scenario == "stall" else "disconnect")

    def answer_plain(self, scenario: str, body: bytes) -> Reply:
        if scenario.startswith("error:"):
            status = int(scenario.removeprefix("error:"))
            return self.recorded(status, f"error_{status}.json")
        if scenario == "content-filter":
            return self.recorded(400, "content_filter.json")
        if scenario == "stream-error":
            return self.recorded(500, "error_500.json")
        if scenario == "hang":
            return Reply(200, ending="hang")
        return Reply(
            200, (*self.headers(), ("content-type", "application/json")), body, ending=ending_for(scenario)
        )

    def recorded(self, status: int, name: str) -> Reply:
        headers = (*self.headers(), ("content-type", "application/json"))
        if status == 429:
            headers += (
                ("retry-after", str(RETRY_AFTER_S)),
                ("retry-after-ms", str(RETRY_AFTER_S * 1000)),
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-remaining-tokens", "0"),
                ("x-ratelimit-limit-requests", "60"),
                ("x-ratelimit-limit-tokens", "10000"),
            )
        return Reply(status, headers, fixture(name))

    def invalid(self, message: str, param: str | None, code: str | None) -> Reply:
        """A 400 the fake's body checks raise, in the OpenAI service's shape (as Azure passes it on)."""
        body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
        return Reply(400, (*self.headers(), ("content-type", "application/json")), json.dumps(body).encode())

    def headers(self) -> tuple[tuple[str, str], ...]:
        rid = str(uuid.uuid4())
        return (
            ("apim-request-id", rid),
            ("x-request-id", rid),
            ("x-ms-region", "East US"),
            ("x-content-type-options", "nosniff"),
            ("strict-transport-security", "max-age=31536000; includeSubDomains; preload"),
        )


# ---- the body checks ------------------------------------------------------------------------------
def check_chat(body: dict[str, Any]) -> tuple[str, str | None, str | None] | None:
    """Why the service would refuse this chat body: (message, param, code); None if it would not."""
    for name in body:
        if name not in CHAT_FIELDS:
            return f"Unrecognized request argument supplied: {name}", None, None
    messages = body.get("messages")
    if messages is None:
        return "Missing required parameter: 'messages'.", "messages", "missing_required_parameter"
    if not isinstance(messages, list) or not messages:
        return (
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            "messages",
            "empty_array",
        )
    calls: set[str] = set()
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES:
            values = ", ".join(f"'{value}'" for value in ROLES[:-1]) + f", and '{ROLES[-1]}'"
            return (
                f"Invalid value: '{role}'. Supported values are: {values}.",
                f"messages[{index}].role",
                "invalid_value",
            )
        assert isinstance(message, dict)
        if role == "tool":
            if "tool_call_id" not in message:
                where = f"messages[{index}].tool_call_id"
                return f"Missing required parameter: '{where}'.", where, "missing_required_parameter"
            if message["tool_call_id"] not in calls:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    "with 'tool_calls'.",
                    f"messages.[{index}].role",
                    None,
                )
        elif role == "assistant" and isinstance(message.get("tool_calls"), list):
            calls = {str(call.get("id")) for call in message["tool_calls"] if isinstance(call, dict)}
        else:
            calls = set()
    return None
