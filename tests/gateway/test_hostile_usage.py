"""Accounting that holds when an upstream reports nonsense, or nothing (issue 9, items 9 and 11).

A real ``headwater serve`` (SQLite, then PostgreSQL, whose 32-bit token columns made one 2**31 fail
every later batch) in front of the hostile upstream of ``tests.gateway.hostile``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.gateway.hostile import BAD_USAGE, Hostile, hostile_upstream
from tests.support import Server, apply, create_key, model_doc, usage_events, wait_for

pytestmark = pytest.mark.e2e

# 3 (reply priming) + 3 (one message) + Hello(2) there(2) ,(1) river(2)
MESSAGES = [{"role": "user", "content": "Hello there, river"}]
PROMPT_ESTIMATE = 13
# "fine thanks", the hostile upstream's reply: fine(1) thanks(2)
REPLY_ESTIMATE = 3


@pytest.fixture(scope="module")
def upstream() -> Iterator[Hostile]:
    with hostile_upstream() as started:
        yield started


@pytest.fixture(scope="module")
def http(server: Server, upstream: Hostile) -> Iterator[httpx.Client]:
    behaviours = [*BAD_USAGE, "plain", "tools-no-usage", "sse-break", "sse-break-early"]
    apply(server, *(model_doc(name, upstream.url) for name in behaviours))
    key = create_key(server, name="hostile-usage")["key"]
    with httpx.Client(base_url=server.v1, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        yield client


def event_of(server: Server, request_id: str) -> dict[str, Any]:
    found: dict[str, Any] = wait_for(
        lambda: next((e for e in usage_events(server) if e["request_id"] == request_id), None), timeout=10
    )
    return found


@pytest.mark.parametrize(
    ("behaviour", "prompt", "completion"),
    [
        ("usage-huge", PROMPT_ESTIMATE, 2),  # prompt_tokens 2**31
        ("usage-negative", PROMPT_ESTIMATE, 2),
        ("usage-float", 7, REPLY_ESTIMATE),  # completion_tokens 2.5
        ("usage-bool", PROMPT_ESTIMATE, 2),  # prompt_tokens true
        ("usage-string", PROMPT_ESTIMATE, 2),  # prompt_tokens "7"
        ("usage-enormous", PROMPT_ESTIMATE, REPLY_ESTIMATE),  # 10**30 each
    ],
)
def test_out_of_range_usage_is_estimated_and_accounting_goes_on(
    server: Server, http: httpx.Client, behaviour: str, prompt: int, completion: int
) -> None:
    response = http.post("/chat/completions", json={"model": behaviour, "messages": MESSAGES})
    assert response.status_code == 200, response.text
    event = event_of(server, response.headers["x-request-id"])
    assert (event["prompt_tokens"], event["completion_tokens"], event["estimated"]) == (
        prompt,
        completion,
        True,
    )
    assert event["status"] == "success"

    later = http.post("/chat/completions", json={"model": "plain", "messages": MESSAGES})
    assert later.status_code == 200
    event = event_of(server, later.headers["x-request-id"])  # the writer was not stopped by the bad one
    assert (event["prompt_tokens"], event["completion_tokens"], event["estimated"]) == (7, 2, False)


@pytest.mark.parametrize(("behaviour", "completion"), [("sse-break-early", 0), ("sse-break", 3)])
def test_stream_broken_by_the_upstream_is_estimated(
    server: Server, http: httpx.Client, behaviour: str, completion: int
) -> None:
    body = {"model": behaviour, "messages": MESSAGES, "stream": True}
    with http.stream("POST", "/chat/completions", json=body) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
        request_id = response.headers["x-request-id"]
    assert '"bad_upstream_response"' in lines[-1]  # the terminal error event
    event = event_of(server, request_id)
    # the prompt was sent and answered: it counts; the completion: one token per chunk after the first
    assert (event["prompt_tokens"], event["completion_tokens"]) == (PROMPT_ESTIMATE, completion)
    assert (event["estimated"], event["status"], event["http_status"]) == (True, "error", 502)


def test_tools_images_and_tool_calls_are_estimated(server: Server, http: httpx.Client) -> None:
    body = {
        "model": "tools-no-usage",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is the weather?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 degrees"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather in a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
    }
    response = http.post("/chat/completions", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    event = event_of(server, response.headers["x-request-id"])
    # priming 3; user 3 + What(1) is(1) the(1) weather(2) ?(1) + low-detail image 85 = 94;
    # assistant 3 + get_weather(4) + {"city": "Paris"}(10) = 17; tool 3 + Sunny(2) ,(1) 21(1) degrees(2) = 9;
    # tools: get_weather(4) + description(7) + the schema's compact JSON text(33) = 44
    assert event["prompt_tokens"] == 3 + 94 + 17 + 9 + 44
    # the reply is one tool call: get_weather(4) + {"city": "Paris"}(10)
    assert event["completion_tokens"] == 14
    assert event["estimated"] is True
