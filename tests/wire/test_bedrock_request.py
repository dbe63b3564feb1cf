"""A chat completion request as Bedrock Converse's body: what Converse receives, and what it cannot take."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from headwater.gateway.wire.base import WireError
from headwater.gateway.wire.bedrock import request_from_chat
from tests.providers.fakes.bedrock_checks import check_body

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake image bytes").decode()
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def converse(chat: dict[str, Any], default_max_tokens: int = 512) -> dict[str, Any]:
    body = request_from_chat(chat, default_max_tokens)
    # whatever we build, Bedrock itself (the fake's checks, in its words) accepts
    assert check_body(orjson.loads(orjson.dumps(body))) is None
    return body


def refused(chat: dict[str, Any]) -> WireError:
    with pytest.raises(WireError) as caught:
        request_from_chat(chat, 512)
    return caught.value


def test_a_plain_conversation() -> None:
    body = converse(
        {
            "model": "claude",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
                {"role": "user", "content": [{"type": "text", "text": "How are you?"}]},
            ],
            "temperature": 0.2,
            "top_p": 0.9,
            "max_tokens": 100,
            "stop": "END",
            "stream": True,
            "stream_options": {"include_usage": True},
            "seed": 7,
            "user": "alice",
            "n": 1,
            "presence_penalty": 0,
            "logprobs": False,
        }
    )
    assert body == {
        "messages": [
            {"role": "user", "content": [{"text": "Hi"}]},
            {"role": "assistant", "content": [{"text": "Hello!"}]},
            {"role": "user", "content": [{"text": "How are you?"}]},
        ],
        "system": [{"text": "Be brief."}, {"text": "Answer in French."}],
        "inferenceConfig": {"maxTokens": 100, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]},
    }


def test_max_tokens_default_and_max_completion_tokens() -> None:
    messages = [{"role": "user", "content": "Hi"}]
    assert converse({"messages": messages}, 777)["inferenceConfig"] == {"maxTokens": 777}
    chosen = converse({"messages": messages, "max_completion_tokens": 5, "max_tokens": 9})
    assert chosen["inferenceConfig"]["maxTokens"] == 5


def test_tools_calls_and_results() -> None:
    body = converse(
        {
            "messages": [
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "24C"}]},
                {"role": "user", "content": "Thanks. Which is warmer?"},
            ],
            "tools": [WEATHER],
            "tool_choice": "auto",
            "parallel_tool_calls": True,
        }
    )
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
                {"toolUse": {"toolUseId": "call_2", "name": "get_weather", "input": {"city": "Rome"}}},
            ],
        },
        {  # the tool results and the next user text: one user turn, results first
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "call_1", "content": [{"text": "18C"}]}},
                {"toolResult": {"toolUseId": "call_2", "content": [{"text": "24C"}]}},
                {"text": "Thanks. Which is warmer?"},
            ],
        },
    ]
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "The weather in a city",
                    "inputSchema": {"json": WEATHER["function"]["parameters"]},  # type: ignore[index]
                }
            }
        ]
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("required", {"any": {}}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"tool": {"name": "get_weather"}}),
    ],
)
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    body = converse(
        {"messages": [{"role": "user", "content": "Hi"}], "tools": [WEATHER], "tool_choice": choice}
    )
    assert body["toolConfig"]["toolChoice"] == expected


def test_tool_choice_none_without_tool_history_sends_no_tools() -> None:
    body = converse(
        {"messages": [{"role": "user", "content": "Hi"}], "tools": [WEATHER], "tool_choice": "none"}
    )
    assert "toolConfig" not in body


def test_a_tool_without_parameters_gets_an_empty_object_schema() -> None:
    tool = {"type": "function", "function": {"name": "now"}}
    body = converse({"messages": [{"role": "user", "content": "Time?"}], "tools": [tool]})
    assert body["toolConfig"]["tools"][0]["toolSpec"] == {
        "name": "now",
        "inputSchema": {"json": {"type": "object", "properties": {}}},
    }


def test_images_from_data_urls() -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{PNG}"}},
    ]
    body = converse({"messages": [{"role": "user", "content": content}]})
    assert body["messages"][0]["content"] == [
        {"text": "What is this?"},
        {"image": {"format": "png", "source": {"bytes": PNG}}},
        {"image": {"format": "jpeg", "source": {"bytes": PNG}}},
    ]


def test_structured_output_as_output_config() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    body = converse(
        {
            "messages": [{"role": "user", "content": "Answer in JSON"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema, "strict": True},
            },
        }
    )
    definition = body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]
    assert body["outputConfig"]["textFormat"]["type"] == "json_schema"
    assert definition["name"] == "reply"
    assert orjson.loads(definition["schema"]) == schema  # Converse takes the schema as a JSON string
    assert "outputConfig" not in converse(
        {"messages": [{"role": "user", "content": "Hi"}], "response_format": {"type": "text"}}
    )


def test_blank_text_is_left_out_and_a_message_of_nothing_else_refused() -> None:
    content = [
        {"type": "text", "text": "Look:"},
        {"type": "text", "text": "  "},
        {"type": "text", "text": "here"},
    ]
    body = converse({"messages": [{"role": "system", "content": ""}, {"role": "user", "content": content}]})
    assert body["messages"][0]["content"] == [{"text": "Look:"}, {"text": "here"}]
    assert "system" not in body
    assert refused(
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "user", "content": " "}]}
    ).param == ("messages[1].content")


def test_consecutive_user_messages_merge_into_one_turn() -> None:
    body = converse({"messages": [{"role": "user", "content": "One"}, {"role": "user", "content": "Two"}]})
    assert body["messages"] == [{"role": "user", "content": [{"text": "One"}, {"text": "Two"}]}]


@pytest.mark.parametrize(
    ("chat", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"frequency_penalty": -1}, "frequency_penalty"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"parallel_tool_calls": False}, "parallel_tool_calls"),
        ({"response_format": {"type": "json_object"}}, "response_format.type"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
            "response_format.json_schema",
        ),
        ({"temperature": 1.5}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_completion_tokens": True}, "max_completion_tokens"),
        ({"stop": ["a", 3]}, "stop"),
        ({"modalities": ["audio"]}, "modalities"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tools": [{"type": "function", "function": {"name": ""}}]}, "tools[0].function.name"),
        ({"tools": [WEATHER], "tool_choice": {"type": "allowed_tools"}}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
    ],
)
def test_what_converse_cannot_honour_is_refused_by_name(chat: dict[str, Any], param: str) -> None:
    error = refused({"messages": [{"role": "user", "content": "Hi"}], **chat})
    assert error.param == param
    assert error.message


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        (None, "messages"),
        ([], "messages"),
        (["hi"], "messages[0]"),
        ([{"role": "robot", "content": "Hi"}], "messages[0].role"),
        ([{"role": "system", "content": "Only a system prompt"}], "messages"),
        (
            [{"role": "system", "content": "x"}, {"role": "assistant", "content": "I start"}],
            "messages[1].role",
        ),
        ([{"role": "user", "content": 42}], "messages[0].content"),
        (
            [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}],
            "messages[0].content[0].type",
        ),
        ([{"role": "user", "content": [{"type": "text", "text": None}]}], "messages[0].content[0].text"),
        (
            [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text"}]}],
            "messages[0].content[1].text",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}],
                }
            ],
            "messages[0].content[0].image_url.url",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}}],
                }
            ],
            "messages[0].content[0].image_url.url",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}],
                }
            ],
            "messages[0].content[0].image_url.url",
        ),
        (
            [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
            "messages[0].content[0].type",
        ),
        ([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": None}], "messages[1].content"),
        (
            [
                {"role": "user", "content": "Hi"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{nope"}}
                    ],
                },
            ],
            "messages[1].tool_calls[0].function.arguments",
        ),
        (
            [
                {"role": "user", "content": "Hi"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ],
                },
            ],
            "messages[1].tool_calls[0].id",
        ),
        ([{"role": "user", "content": "Hi"}, {"role": "tool", "content": "18C"}], "messages[1].tool_call_id"),
        ([{"role": "user", "content": "Hi"}, {"role": "tool", "tool_call_id": "c"}], "messages[1].content"),
    ],
)
def test_malformed_messages_are_refused_by_name(messages: Any, param: str) -> None:
    assert refused({"messages": messages}).param == param


def test_tool_choice_none_cannot_be_honoured_with_tool_calls_in_the_history() -> None:
    chat = {
        "messages": [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
        "tools": [WEATHER],
        "tool_choice": "none",
    }
    assert refused(chat).param == "tool_choice"
    chat["tool_choice"] = "auto"
    assert converse(chat)["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
