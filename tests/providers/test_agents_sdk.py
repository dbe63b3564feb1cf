"""The OpenAI Agents SDK, unchanged, through the gateway: an agent with a function tool runs end to end.

The agent's model is the SDK's own ``OpenAIResponsesModel`` (``POST /v1/responses``) or
``OpenAIChatCompletionsModel`` (``POST /v1/chat/completions``) on an ``AsyncOpenAI`` pointed at the
gateway, over a model on each provider. The agent asks for the weather: the first upstream answer
calls ``get_weather``, the SDK runs the tool and sends its result back, and the second answer is the
final text. With the fakes, both answers are recorded ones, so the tool must have been called with the
recorded arguments and the final output must be the recorded text. Tracing is off: nothing leaves
127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import agents
import openai
import pytest
from agents import Agent, ModelSettings, OpenAIChatCompletionsModel, OpenAIResponsesModel, Runner

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


@pytest.fixture(scope="module")
def world(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    agents.set_tracing_disabled(True)
    with serving_every_provider(sim, tmp_path_factory.mktemp("agents"), key_name="agents-sdk") as world:
        yield world


def _agent(
    world: World, client: openai.AsyncOpenAI, provider: str, kind: str, calls: list[str]
) -> Agent[Any]:
    @agents.function_tool
    def get_weather(location: str) -> str:
        """The weather in a place.

        Args:
            location: The city.
        """
        calls.append(location)
        return f"Sunny and 21 degrees in {location}."

    model_class = OpenAIResponsesModel if kind == "responses" else OpenAIChatCompletionsModel
    return Agent(
        name="forecaster",
        instructions="Answer weather questions with the get_weather tool.",
        model=model_class(world.model(provider), client),
        tools=[get_weather],
        model_settings=ModelSettings(max_tokens=200),
    )


def _client(world: World) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=world.server.v1, api_key=world.key, max_retries=0, timeout=15)


def _check(world: World, provider: str, calls: list[str], final_output: Any) -> None:
    assert len(calls) == 1, calls  # one tool call, then a text answer that ended the run
    if provider in FAKED:
        assert calls == [RECORDED_ARGUMENTS[provider]["location"]]
        assert final_output == RECORDED_TEXT
        # the tool's result went upstream, in the provider's own format
        assert f"Sunny and 21 degrees in {calls[0]}".encode() in world.fakes[provider].requests[-1].body
    else:
        assert calls[0]  # the simulator makes up a location that fits the schema
        assert isinstance(final_output, str) and final_output.strip()


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_agent_calls_its_tool_and_answers(world: World, provider: str, kind: str) -> None:
    calls: list[str] = []
    world.answer_with_a_tool_call(provider)
    async with _client(world) as client:
        result = await Runner.run(_agent(world, client, provider, kind, calls), QUESTION, max_turns=4)
    _check(world, provider, calls, result.final_output)
    assert len(result.raw_responses) == 2  # the tool call, then the answer
    assert all(response.usage.input_tokens > 0 for response in result.raw_responses)


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_streamed_agent_run(world: World, provider: str, kind: str) -> None:
    calls: list[str] = []
    world.answer_with_a_tool_call(provider)
    async with _client(world) as client:
        result = Runner.run_streamed(_agent(world, client, provider, kind, calls), QUESTION, max_turns=4)
        seen: list[str] = []
        text = ""
        async for event in result.stream_events():
            if event.type == "run_item_stream_event":
                seen.append(event.name)
            elif event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
                text += event.data.delta
    _check(world, provider, calls, result.final_output)
    assert seen.index("tool_called") < seen.index("tool_output") < len(seen) - 1
    assert seen[-1] == "message_output_created"
    # the answer came as it was streamed (after whatever the model said before calling the tool)
    assert text.endswith(result.final_output)
