"""The providers a deployment may name, each in its own module (:mod:`.base` has the interface)."""

from __future__ import annotations

from headwater.gateway.providers.anthropic import Anthropic
from headwater.gateway.providers.azure_openai import AzureOpenAI
from headwater.gateway.providers.base import Provider
from headwater.gateway.providers.bedrock import Bedrock
from headwater.gateway.providers.openai import OpenAI

#: Every provider, by the deployment's ``provider`` value.
PROVIDERS: dict[str, Provider] = {
    provider.name: provider for provider in (OpenAI(), AzureOpenAI(), Anthropic(), Bedrock())
}
