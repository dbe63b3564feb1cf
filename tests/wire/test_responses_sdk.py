"""The proof of the format: the official ``openai`` SDK, offline, reads what the translation writes.

An httpx MockTransport stands in for the gateway: it checks the SDK's request (``parse``), translates
it (``request_to_chat``, whose result is checked), and answers with ``response_from_chat`` or a
``ResponsesEncoder``'s bytes for a scripted chat answer.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import openai
import orjson
import pytest
from pydantic import BaseModel

from headwater.gateway.wire.base import Json
from headwater.gateway.wire.responses import ResponsesEncoder, parse, request_to_chat, response_from_chat

USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 6,
    "total_tokens": 18,
    "prompt_tokens_details": {"cached_tokens": 3},
}
WEATHER = {
    "type": "function",
    "name": "weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def _chunk(**delta: object) -> Json:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }


def _end(reason: str) -> list[Json]:
    return [
        {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]},
        {"object": "chat.completion.chunk", "choices": [], "usage": USAGE},
    ]


TEXT_CHUNKS = [
    _chunk(role="assistant", content=""),
    _chunk(content="Rivers "),
    _chunk(content="flow."),
    *_end("stop"),
]
CALL_CHUNKS = [
    _chunk(role="assistant"),
    _chunk(
        tool_calls=[
            {"index": 0, "id": "call_p", "type": "function", "function": {"name": "weather", "arguments": ""}}
        ]
    ),
    _chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"city":'}}]),
    _chunk(tool_calls=[{"index": 0, "function": {"arguments": ' "Paris"}'}}]),
    _chunk(
        tool_calls=[
            {
                "index": 1,
                "id": "call_r",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Rome"}'},
            }
        ]
    ),
    *_end("tool_calls"),
]


class Gateway:
    """The handler: records the translated chat requests and answers with the scripted chat."""

    def __init__(self) -> None:
        self.chats: list[Json] = []
        self.answer: Json | None = None
        self.chunks: list[Json] = []
        self.cut_after: int | None = None

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/responses"
        payload = orjson.loads(request.content)
        parse(payload)
        chat = request_to_chat(payload, [])
        self.chats.append(chat)
        if not payload.get("stream"):
            assert self.answer is not None
            body = response_from_chat(self.answer, payload, "resp_sdk", 1700000000, payload["model"])
            return httpx2.Response(200, json=body)
        encoder = ResponsesEncoder(payload, "resp_sdk", 1700000000, payload["model"])
        chunks = self.chunks if self.cut_after is None else self.chunks[: self.cut_after]
        stream = b"".join(encoder.chunk(chunk) for chunk in chunks)
        if self.cut_after is None:
            stream += encoder.end(None)
        else:
            stream += encoder.cut("The upstream stopped answering.", "upstream_timeout")
        return httpx2.Response(200, content=stream, headers={"content-type": "text/event-stream"})


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


@pytest.fixture
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    http = httpx2.Client(transport=httpx2.MockTransport(gateway))
    with openai.OpenAI(
        base_url="http://127.0.0.1:9/v1", api_key="sk-test", http_client=http, max_retries=0
    ) as sdk:
        yield sdk


def test_create_gives_output_text_and_usage(client: openai.OpenAI, gateway: Gateway) -> None:
    gateway.answer = {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Rivers flow."}, "finish_reason": "stop"}
        ],
        "usage": USAGE,
    }
    response = client.responses.create(
        model="chat-model", input="Tell me about rivers.", instructions="Be brief."
    )
    assert response.output_text == "Rivers flow."
    assert response.status == "completed" and response.model == "chat-model" and response.id == "resp_sdk"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (
        12,
        6,
        18,
    )
    assert response.usage.input_tokens_details.cached_tokens == 3
    assert gateway.chats[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Tell me about rivers."},
    ]


def test_create_with_tools_gives_function_calls_and_takes_their_outputs(
    client: openai.OpenAI, gateway: Gateway
) -> None:
    gateway.answer = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_p",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                },
            }
        ],
        "usage": USAGE,
    }
    first = client.responses.create(model="chat-model", input="Weather in Paris?", tools=[WEATHER])  # type: ignore[list-item]
    [call] = first.output
    assert call.type == "function_call" and call.name == "weather" and call.call_id == "call_p"
    assert orjson.loads(call.arguments) == {"city": "Paris"}
    assert gateway.chats[0]["tools"][0]["function"]["name"] == "weather"
    gateway.answer = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Sunny in Paris."},
            }
        ]
    }
    second = client.responses.create(
        model="chat-model",
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": "call_p", "output": "sunny, 24C"},
        ],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert second.output_text == "Sunny in Paris." and second.usage is None
    messages = gateway.chats[1]["messages"]
    assert messages[1]["tool_calls"][0]["id"] == "call_p"
    assert messages[2] == {"role": "tool", "tool_call_id": "call_p", "content": "sunny, 24C"}


class City(BaseModel):
    name: str
    population: int


def test_structured_output_through_responses_parse(client: openai.OpenAI, gateway: Gateway) -> None:
    gateway.answer = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": '{"name": "Lyon", "population": 520000}'},
            }
        ]
    }
    parsed = client.responses.parse(model="chat-model", input="A French city.", text_format=City)
    assert parsed.output_parsed == City(name="Lyon", population=520000)
    response_format = gateway.chats[0]["response_format"]
    assert response_format["type"] == "json_schema" and response_format["json_schema"]["name"] == "City"
    assert response_format["json_schema"]["schema"]["properties"]["population"]["type"] == "integer"


def test_create_stream_text(client: openai.OpenAI, gateway: Gateway) -> None:
    gateway.chunks = TEXT_CHUNKS
    events = list(client.responses.create(model="chat-model", input="Rivers?", stream=True))
    assert (
        "".join(event.delta for event in events if event.type == "response.output_text.delta")
        == "Rivers flow."
    )
    assert events[-1].type == "response.completed"
    final = events[-1].response
    assert final.output_text == "Rivers flow." and final.usage is not None and final.usage.total_tokens == 18
    assert gateway.chats[0]["stream"] is True and gateway.chats[0]["stream_options"] == {
        "include_usage": True
    }


@pytest.mark.parametrize("chunks", [TEXT_CHUNKS, CALL_CHUNKS], ids=["text", "tool-calls"])
def test_stream_helper_accumulates_the_final_response(
    client: openai.OpenAI, gateway: Gateway, chunks: list[Json]
) -> None:
    gateway.chunks = chunks
    with client.responses.stream(model="chat-model", input="x", tools=[WEATHER]) as stream:  # type: ignore[list-item]
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert final.usage is not None and final.usage.output_tokens == 6
    if chunks is TEXT_CHUNKS:
        assert final.output_text == "Rivers flow."
        return
    calls = [item for item in final.output if item.type == "function_call"]
    assert [(c.call_id, orjson.loads(c.arguments)) for c in calls] == [
        ("call_p", {"city": "Paris"}),
        ("call_r", {"city": "Rome"}),
    ]


def test_stream_helper_with_text_format(client: openai.OpenAI, gateway: Gateway) -> None:
    gateway.chunks = [_chunk(content='{"name": "Lyon", '), _chunk(content='"population": 1}'), *_end("stop")]
    with client.responses.stream(model="chat-model", input="x", text_format=City) as stream:
        final = stream.get_final_response()
    assert final.output_parsed == City(name="Lyon", population=1)


@pytest.mark.parametrize("cut_after", [0, 2])
def test_a_cut_stream_raises_in_the_sdk(client: openai.OpenAI, gateway: Gateway, cut_after: int) -> None:
    gateway.chunks, gateway.cut_after = TEXT_CHUNKS, cut_after
    seen: list[str] = []
    with pytest.raises(openai.APIError, match=r"The upstream stopped answering\."):
        for event in client.responses.create(model="chat-model", input="x", stream=True):
            seen.append(event.type)
    assert "response.completed" not in seen
    assert ("response.output_text.delta" in seen) is (cut_after > 0)
    with (
        client.responses.stream(model="chat-model", input="x") as stream,
        pytest.raises(openai.APIError, match=r"The upstream stopped answering\."),
    ):
        stream.get_final_response()


async def test_async_client_streams(gateway: Gateway) -> None:
    gateway.chunks = TEXT_CHUNKS

    async def handler(request: httpx2.Request) -> httpx2.Response:
        return gateway(request)

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    async with (
        openai.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", http_client=http) as sdk,
        sdk.responses.stream(model="chat-model", input="x") as stream,
    ):
        final = await stream.get_final_response()
    assert final.output_text == "Rivers flow."
