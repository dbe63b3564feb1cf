"""Relaying a translated stream: the upstream's events decoded into chat completion chunks, the
chunks encoded as the client's API streams them, as they come.

Like :func:`headwater.gateway.sse.relay` it only forwards (a read's complete events go to the client
at once) and records what the proxy needs (usage, the first token's time, why it was cut); the
proxy sends the stream's end (:meth:`EventEncoder.end`) or its terminal error event.
"""

from __future__ import annotations

import asyncio

import aiohttp

from headwater.clock import monotonic
from headwater.gateway.asgi import Send
from headwater.gateway.scrub import scrub
from headwater.gateway.sse import EVENT_TOO_LARGE, Cut, StreamState
from headwater.gateway.wire.base import ChunkDecoder, EventEncoder
from headwater.snapshot import DeploymentView


async def relay(
    response: aiohttp.ClientResponse,
    send: Send,
    state: StreamState,
    decoder: ChunkDecoder,
    encoder: EventEncoder,
    max_event_bytes: int,
    deployment: DeploymentView,
    public_model: str,
) -> None:
    """Forward until the upstream's stream ends. Sets ``state.failure`` when it was cut."""
    try:
        async for data in response.content.iter_any():
            chunks = decoder.feed(data)
            if chunks:
                state.events += len(chunks)
                body = b"".join([encoder.chunk(chunk) for chunk in chunks])
                if body:
                    if state.first_token_at is None:
                        state.first_token_at = monotonic()
                    await send({"type": "http.response.body", "body": body, "more_body": True})
            if decoder.failure is not None:
                message, code = decoder.failure
                text = scrub(message, deployment, public_model)[:500]
                state.failure = Cut(f"The upstream failed during the stream: {text}", code)
                return
            if getattr(decoder, "too_large", False):
                state.failure = Cut(
                    f"The upstream sent an event larger than {max_event_bytes} bytes; the stream was cut.",
                    EVENT_TOO_LARGE,
                )
                return
    except TimeoutError:
        state.failure = Cut(
            "The upstream stopped sending before the stream ended (timeout).", "upstream_timeout", 504
        )
        return
    except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
        state.failure = Cut(f"The upstream stream broke: {type(exc).__name__}.", "bad_upstream_response")
        return
    finally:
        state.usage, state.done = decoder.usage, decoder.done
    if not state.done and state.usage is None:
        state.failure = Cut("The upstream ended the stream before it was complete.", "bad_upstream_response")
