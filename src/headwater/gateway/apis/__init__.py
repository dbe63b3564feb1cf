"""The APIs clients call: one module each (OpenAI's chat/completions/embeddings, the Responses API,
Anthropic's Messages API), behind the :class:`ClientApi` interface the proxy's pipeline uses."""
