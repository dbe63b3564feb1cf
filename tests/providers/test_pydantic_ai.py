"""pydantic-ai, unchanged, through the gateway: an agent with a tool, and structured output.

The agent's model is pydantic-ai's ``OpenAIResponsesModel`` (``POST /v1/responses``) or
``OpenAIChatModel`` (``POST /v1/chat/completions``) with an ``OpenAIProvider`` pointed at the gateway,
over a model on each provider. Asked for the weather, the first upstream answer calls
``get_weather``, pydantic-ai runs it and sends the result back, and the second answer is the output;
with the fakes both answers are recorded, so the tool's arguments and the output are known exactly.
Structured output (``NativeOutput``: ``response_format`` json_schema, or the Responses API's
``text.format``) runs on the simulator, which answers JSON that fits the schema it is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_ai import Agent, AgentRunResultEvent, NativeOutput, PartDeltaEvent, PartStartEvent
from pydantic_ai.messages import TextPart, TextPartDelta
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
from pydantic_ai.providers.openai import OpenAIProvider

from tests.providers.gateway_world import (
    FAKED,
    PROVIDERS,
    RECORDED_ARGUMENTS,
    RECORDED_TEXT,
    World,
    serving_every_provider,
)
from tests.support import Sim

pytestmark = pytest.mark.e2e

MODELS = ("responses", "chat")
QUESTION = "What is the weather in Paris?"


class Forecast(BaseModel):
    city: str
    temperature_c: int
    sunny: bool


@pytest.fixture(scope="module")
def world(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with serving_every_provider(sim, tmp_path_factory.mktemp("pydantic-ai"), key_name="pydantic-ai") as world:
        yield world


def _model(world: World, provider: str, kind: str) -> OpenAIChatModel | OpenAIResponsesModel:
    gateway = OpenAIProvider(base_url=world.server.v1, api_key=world.key)
    if kind == "responses":
        return OpenAIResponsesModel(world.model(provider), provider=gateway)
    return OpenAIChatModel(world.model(provider), provider=gateway)


def _weather_agent(world: World, provider: str, kind: str, calls: list[str]) -> Agent[None, str]:
    agent = Agent(
        _model(world, provider, kind),
        instructions="Answer weather questions with the get_weather tool.",
        model_settings={"max_tokens": 200},
    )

    @agent.tool_plain
    def get_weather(location: str) -> str:
        """The weather in a place."""
        calls.append(location)
        return f"Sunny and 21 degrees in {location}."

    return agent


def _check(world: World, provider: str, calls: list[str], output: Any) -> None:
    assert len(calls) == 1, calls
    if provider in FAKED:
        assert calls == [RECORDED_ARGUMENTS[provider]["location"]]
        assert output == RECORDED_TEXT
        # the tool's result went upstream, in the provider's own format
        assert f"Sunny and 21 degrees in {calls[0]}".encode() in world.fakes[provider].requests[-1].body
    else:
        assert calls[0]  # the simulator makes up a location that fits the schema
        assert isinstance(output, str) and output.strip()


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_agent_calls_its_tool_and_answers(world: World, provider: str, kind: str) -> None:
    calls: list[str] = []
    world.answer_with_a_tool_call(provider)
    result = await _weather_agent(world, provider, kind, calls).run(QUESTION)
    _check(world, provider, calls, result.output)
    usage = result.usage
    assert usage.requests == 2 and usage.input_tokens > 0 and usage.output_tokens > 0


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_streamed_run(world: World, provider: str, kind: str) -> None:
    calls: list[str] = []
    world.answer_with_a_tool_call(provider)
    kinds: list[str] = []
    text, output = "", None
    async with _weather_agent(world, provider, kind, calls).run_stream_events(QUESTION) as events:
        async for event in events:
            kinds.append(event.event_kind)
            if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
                text += event.part.content
            elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
                text += event.delta.content_delta
            elif isinstance(event, AgentRunResultEvent):
                output = event.result.output
    _check(world, provider, calls, output)
    # the tool ran, then the answer streamed in
    last_delta = max(i for i, seen in enumerate(kinds) if seen == "part_delta")
    assert kinds.index("function_tool_call") < kinds.index("function_tool_result") < last_delta
    assert kinds[-1] == "agent_run_result"
    # the answer came as it was streamed (after whatever the model said before calling the tool)
    assert isinstance(output, str) and text.endswith(output)


@pytest.mark.parametrize("kind", MODELS)
async def test_structured_output(world: World, kind: str) -> None:
    agent = Agent(_model(world, "openai", kind), output_type=NativeOutput(Forecast))
    result = await agent.run("Give the forecast for Paris as JSON.")
    assert isinstance(result.output, Forecast)  # the JSON the schema asked for, validated
    assert result.output.city
