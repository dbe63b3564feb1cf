"""Relaying a server-sent event stream.

Each read from the upstream is split into complete events (``\\n\\n``-terminated) which go to the
client at once; only a partial event waits for its end. Chunks are never parsed, except the one
that carries a ``usage`` object. The gateway always asks the upstream for that chunk
(``stream_options.include_usage``) and hides it from a client that did not ask for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from headwater.clock import monotonic
from headwater.errors import error_body
from headwater.gateway.http import Send

DONE = b"data: [DONE]"
_USAGE_MARKERS = (b'"usage":{', b'"usage": {')


@dataclass(slots=True)
class StreamState:
    first_token_at: float | None = None
    events: int = 0
    usage: dict[str, Any] | None = None
    done: bool = False
    failure: str | None = None


def _usage_of(event: bytes) -> tuple[dict[str, Any] | None, bool]:
    """The usage object in an event, and whether the event carries nothing else (no choices)."""
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                data = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                return None, False
            if isinstance(data, dict) and isinstance(data.get("usage"), dict):
                return data["usage"], not data.get("choices")
    return None, False


def _split_events(buffer: bytes) -> tuple[list[bytes], bytes]:
    if b"\r\n" in buffer:
        buffer = buffer.replace(b"\r\n", b"\n")
    events = buffer.split(b"\n\n")
    rest = events.pop()
    return [event + b"\n\n" for event in events if event], rest


async def relay(
    response: aiohttp.ClientResponse,
    send: Send,
    state: StreamState,
    *,
    hide_usage: bool,
    rename: tuple[tuple[bytes, bytes], ...],
) -> None:
    """Forward the upstream's events to the client until ``[DONE]`` or the end of the body."""
    rest = b""
    try:
        async for data in response.content.iter_any():
            events, rest = _split_events(rest + data)
            if not events:
                continue
            out: list[bytes] = []
            for event in events:
                if event.startswith(DONE):
                    state.done = True
                elif any(marker in event for marker in _USAGE_MARKERS):
                    usage, usage_only = _usage_of(event)
                    if usage is not None:
                        state.usage = usage
                        if usage_only and hide_usage:
                            continue
                else:
                    state.events += 1
                for old, new in rename:
                    event = event.replace(old, new)
                out.append(event)
            if out:
                if state.first_token_at is None:
                    state.first_token_at = monotonic()
                await send({"type": "http.response.body", "body": b"".join(out), "more_body": True})
    except TimeoutError:
        state.failure = "The upstream stopped sending before the stream ended (timeout)."
    except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
        state.failure = f"The upstream stream broke: {type(exc).__name__}."
    finally:
        response.release()
    if state.failure is None and not state.done and state.usage is None:
        state.failure = "The upstream ended the stream before it was complete."
    if state.failure is not None:
        message = b"data: " + error_body(state.failure, "api_error", "bad_upstream_response") + b"\n\n"
        await send({"type": "http.response.body", "body": message, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def rename_pairs(upstream_model: str, public_model: str) -> tuple[tuple[bytes, bytes], ...]:
    """Byte replacements that show the public model name instead of the upstream's."""
    if upstream_model == public_model:
        return ()
    old, new = orjson.dumps(upstream_model), orjson.dumps(public_model)
    return ((b'"model":' + old, b'"model":' + new), (b'"model": ' + old, b'"model": ' + new))
