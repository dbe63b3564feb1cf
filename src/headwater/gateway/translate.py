"""Relaying a translated stream: the upstream's events decoded into chat completion chunks, the
chunks encoded as the client's API streams them, as they come; and :func:`relay_for`, which picks
the relay a call's stream needs (this one, or :func:`headwater.gateway.sse.relay` untranslated).

Like :func:`headwater.gateway.sse.relay` it only forwards (a read's complete events go to the client
at once) and records what the proxy needs (usage, the first token's time, why it was cut); the
proxy sends the stream's end (:meth:`EventEncoder.end`) or its terminal error event.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from headwater.clock import monotonic
from headwater.gateway import sse
from headwater.gateway.apis.base import ClientApi, Inbound
from headwater.gateway.asgi import Send
from headwater.gateway.providers.base import Provider
from headwater.gateway.scrub import scrub
from headwater.gateway.sse import EVENT_TOO_LARGE, INCOMPLETE, Cut, StreamState, broken
from headwater.gateway.upstream import BROKEN, UpstreamResponse
from headwater.gateway.wire.base import ChunkDecoder, EventEncoder, UsageSniffer
from headwater.snapshot import DeploymentView


async def relay(
    response: UpstreamResponse,
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
    except (TimeoutError, *BROKEN) as exc:
        state.failure = broken(exc)
        return
    finally:
        state.usage, state.done = decoder.usage, decoder.done
    if not state.done and state.usage is None:
        state.failure = INCOMPLETE


def relay_for(
    api: ClientApi,
    inbound: Inbound,
    provider: Provider,
    native: bool,
    deployment: DeploymentView,
    public_model: str,
    response: UpstreamResponse,
    send: Send,
    state: StreamState,
    max_event_bytes: int,
) -> tuple[Coroutine[Any, Any, None], EventEncoder | None, UsageSniffer | None]:
    """The relay of a call's stream, with the encoder (translated) or the sniffer (untranslated, an
    API other than OpenAI's chat completions) that it feeds."""
    if native:
        sniffer = api.sniffer()
        hide = sniffer is None and not inbound.extra.get("wants_usage", False)
        untranslated = sse.relay(
            response,
            send,
            state,
            hide_usage=hide,
            rename=sse.rename_pairs(deployment.upstream_model, public_model),
            max_event_bytes=max_event_bytes,
            sniffer=sniffer,
            public_model=public_model,
        )
        return untranslated, None, sniffer
    encoder = api.encoder(inbound, public_model)
    decoder = provider.decoder(deployment, max_event_bytes)
    work = relay(response, send, state, decoder, encoder, max_event_bytes, deployment, public_model)
    return work, encoder, None
