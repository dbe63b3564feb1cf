"""Tests of the provider adapters: Anthropic, Azure OpenAI, Bedrock, each against a local fake."""
