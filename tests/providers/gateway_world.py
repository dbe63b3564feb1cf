"""A ``headwater serve`` (SQLite) with one model per provider, for the tests that drive client SDKs.

:func:`serving_every_provider` starts the fakes of Azure OpenAI, Anthropic and Bedrock, and a gateway
whose models ``via-openai`` (on ``headwater sim``), ``via-azure-openai``, ``via-anthropic`` and
``via-bedrock`` each have one deployment on that provider, with an API key to call them. On the way
out it stops the server and checks that no provider credential ever reached its log.

What the fakes answer to a tool call is recorded, not computed: :data:`RECORDED_ARGUMENTS` says which
arguments each one calls ``get_weather`` with, and :data:`RECORDED_TEXT` is their text answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.providers.fakes.anthropic import FakeAnthropic
from tests.providers.fakes.azure import FakeAzureOpenAI
from tests.providers.fakes.bedrock import FakeBedrock
from tests.providers.fakes.replay import ReplayServer
from tests.support import Server, Sim, apply, create_key, database, start_server, stop

PROVIDERS = ("openai", "azure-openai", "anthropic", "bedrock")
FAKED = ("azure-openai", "anthropic", "bedrock")
#: The recorded ``get_weather`` call each fake answers a ``"tool"`` scenario with.
RECORDED_ARGUMENTS = {
    "azure-openai": {"location": "San Francisco, CA"},
    "anthropic": {"location": "San Francisco, CA"},
    "bedrock": {"location": "Paris"},
}
#: The recorded text every fake answers a ``"text"`` scenario with.
RECORDED_TEXT = "Hello! How can I help you today?"


@dataclass
class World:
    server: Server
    key: str
    fakes: dict[str, ReplayServer]
    #: What the server printed, once it has stopped (at the end of :func:`serving_every_provider`).
    log: str = ""

    def model(self, provider: str) -> str:
        return f"via-{provider}"

    def answer_with_a_tool_call(self, provider: str) -> None:
        """Queue, on a faked provider, a tool call for the next upstream request (then text, the default)."""
        if provider in FAKED:
            self.fakes[provider].next("tool")


def deployment(provider: str, sim: Sim, fakes: dict[str, Any], timeout: float = 5) -> dict[str, Any]:
    """The one deployment of ``via-{provider}``."""
    common = {"timeout": timeout}
    if provider == "openai":
        return {"provider": "openai", "base_url": sim.url, "upstream_model": "sim-upstream", **common}
    if provider == "azure-openai":
        return {
            "provider": provider,
            "base_url": fakes[provider].base_url,
            "upstream_model": "gpt-4o",
            "api_version": "2024-10-21",
            "credential_env": "HEADWATER_UPSTREAM_AZURE",
            **common,
        }
    if provider == "anthropic":
        return {
            "provider": provider,
            "base_url": fakes[provider].base_url,
            "upstream_model": "claude-sonnet-4-5",
            "credential_env": "HEADWATER_UPSTREAM_ANTHROPIC",
            **common,
        }
    return {
        "provider": provider,
        "base_url": fakes[provider].base_url,
        "upstream_model": "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "region": "us-east-1",
        "credential_env": "HEADWATER_UPSTREAM_BEDROCK",
        **common,
    }


@contextlib.contextmanager
def serving_every_provider(
    sim: Sim, directory: Path, *, key_name: str = "sdk", timeout: float = 5
) -> Iterator[World]:
    with FakeAzureOpenAI() as azure, FakeAnthropic() as claude, FakeBedrock() as bedrock:
        fakes: dict[str, Any] = {"azure-openai": azure, "anthropic": claude, "bedrock": bedrock}
        env = {
            "HEADWATER_UPSTREAM_AZURE": azure.api_key,
            "HEADWATER_UPSTREAM_ANTHROPIC": claude.api_key,
            "HEADWATER_UPSTREAM_BEDROCK": bedrock.credential,
        }
        with database("sqlite", directory) as url:
            server = start_server(url, extra_env=env)
            try:
                documents = [
                    {
                        "apiVersion": "headwater/v1",
                        "kind": "Model",
                        "metadata": {"name": f"via-{provider}"},
                        "spec": {
                            "pricing": {"input_per_million": "1", "output_per_million": "2"},
                            "deployments": [deployment(provider, sim, fakes, timeout)],
                        },
                    }
                    for provider in PROVIDERS
                ]
                apply(server, *documents)
                world = World(server, create_key(server, name=key_name)["key"], fakes)
                yield world
            finally:
                log = stop(server.process)
        world.log = log
        for secret in (azure.api_key, claude.api_key, bedrock.credential):
            assert secret not in log  # never a credential in the server's log
