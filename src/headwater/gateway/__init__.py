"""The data plane: a pure ASGI, OpenAI-compatible gateway. No FastAPI, no SQL on the hot path."""
