"""The official ``openai`` npm SDK, unchanged, through the gateway, on every provider.

``tests/sdk_js/check.mjs`` (run with ``node``; its ``openai`` package is installed by ``npm ci
--prefix tests/sdk_js``, a prerequisite of ``make pytest``) makes four calls on a model: chat
completions whole and streamed, ``responses.create`` and ``responses.stream``, and prints what the SDK
made of each. Text answers and tool calls are checked on each provider: with the fakes, the recorded
answers arrive whole, as the SDK parses them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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

PACKAGE = Path(__file__).resolve().parent.parent / "sdk_js"
CHECKS = ("chat", "chat_stream", "responses", "responses_stream")
NODE = shutil.which("node")


@pytest.fixture(scope="module")
def world(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if NODE is None:
        pytest.skip("node is not installed: the openai npm SDK cannot run")
    if not (PACKAGE / "node_modules" / "openai").is_dir():
        pytest.fail("the openai npm package is missing: run `npm ci --prefix tests/sdk_js`")
    with serving_every_provider(sim, tmp_path_factory.mktemp("openai-js"), key_name="openai-js") as world:
        yield world


def _run(world: World, provider: str, *, tools: bool) -> dict[str, Any]:
    assert NODE is not None
    model = world.model(provider)
    if tools and provider in FAKED:
        for _ in CHECKS:
            world.fakes[provider].next("tool")
    done = subprocess.run(
        [NODE, str(PACKAGE / "check.mjs"), world.server.v1, world.key, model],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "TOOLS": "1" if tools else "0"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, Any] = json.loads(done.stdout)
    assert set(results) == set(CHECKS)
    for name, result in results.items():
        assert "error" not in result, (name, result)
        assert result["model"] == model, name
        assert result["usage"]["input"] > 0 and result["usage"]["output"] > 0, name
    return results


@pytest.mark.parametrize("provider", PROVIDERS)
def test_text_on_every_api(world: World, provider: str) -> None:
    results = _run(world, provider, tools=False)
    for name, result in results.items():
        assert result["tool"] is None, name
        if provider in FAKED:
            assert result["text"] == RECORDED_TEXT, name
        else:
            assert result["text"].strip(), name
    assert results["chat_stream"]["chunks"] > 1  # it streamed
    streamed = results["responses_stream"]
    assert streamed["status"] == "completed"
    assert streamed["deltas"] == streamed["text"]  # the deltas add up to the final response
    assert {"response.created", "response.output_text.delta", "response.completed"} <= set(streamed["events"])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tool_calls_on_every_api(world: World, provider: str) -> None:
    results = _run(world, provider, tools=True)
    for name, result in results.items():
        assert result["tool"] is not None, (name, result)
        assert result["tool"]["name"] == "get_weather", name
        if provider in FAKED:
            assert result["tool"]["arguments"] == RECORDED_ARGUMENTS[provider], name
        else:
            assert isinstance(result["tool"]["arguments"]["location"], str), name
    assert "response.function_call_arguments.delta" in results["responses_stream"]["events"]
