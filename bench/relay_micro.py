"""What relaying the bench's stream costs: :func:`headwater.gateway.sse.relay`, in-process.

The stream nginx serves in ``make bench`` (10 token chunks, a finish chunk, the usage chunk and
``[DONE]``, ~3 KB) relayed to a no-op ``send``, usage hidden from a client that did not ask for it,
as the gateway does: once as one read (how nginx sends it) and once as a read per event. Then the
one-read relay as the gateway runs it, watching for the client to leave
(:func:`~headwater.gateway.client_watch.relay_watching`): told by the server protocol's
``Disconnects``, and with a watcher task awaiting ``receive()`` (how it ran before, and still does
under another ASGI server), on uvloop as in ``headwater serve``. Prints CPU µs per relayed stream
(``time.process_time``). Issue 16 measured the relay's changes with it.

    .venv/bin/python bench/relay_micro.py [--streams 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Coroutine, MutableMapping
from typing import Any

import uvloop

from headwater.gateway import sse
from headwater.gateway.client_watch import relay_watching
from headwater.serving.disconnects import Disconnects
from upstream import stream_body

MODEL = "bench-stream"


class Response:
    """What the relay reads of an aiohttp response: ``content.iter_any()``."""

    def __init__(self, reads: list[bytes]) -> None:
        self.content = self
        self._reads = reads

    async def iter_any(self) -> AsyncIterator[bytes]:
        for data in self._reads:
            yield data


async def send(message: MutableMapping[str, Any]) -> None:
    return None


def relay(reads: list[bytes], state: sse.StreamState) -> Coroutine[Any, Any, None]:
    return sse.relay(
        Response(reads),  # type: ignore[arg-type]
        send,
        state,
        hide_usage=True,
        rename=sse.rename_pairs(MODEL, MODEL),
        max_event_bytes=1 << 20,
        public_model=MODEL,
    )


async def measure(reads: list[bytes], streams: int) -> tuple[float, sse.StreamState]:
    state = sse.StreamState()
    started = time.process_time()
    for _ in range(streams):
        state = sse.StreamState()
        await relay(reads, state)
    return 1e6 * (time.process_time() - started) / streams, state


async def measure_watched(reads: list[bytes], streams: int, *, told: bool) -> float:
    """The relay in ``relay_watching``: ``told`` by Disconnects, or watching a ``receive()`` that
    waits on an event, as uvicorn's does."""
    connection = Disconnects() if told else None
    never = asyncio.Event()

    async def receive() -> MutableMapping[str, Any]:
        await never.wait()
        return {"type": "http.disconnect"}

    started = time.process_time()
    for _ in range(streams):
        await relay_watching(relay(reads, sse.StreamState()), receive, connection)
    await asyncio.sleep(0)  # the last watcher task's cancellation runs
    return 1e6 * (time.process_time() - started) / streams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--streams", type=int, default=20_000)
    args = parser.parse_args()
    body = stream_body(1_700_000_000)
    per_event = [event + b"\n\n" for event in body.split(b"\n\n") if event]
    for label, reads in (("one read", [body]), ("a read per event", per_event)):
        us, state = asyncio.run(measure(reads, args.streams))
        print(f"{label}: {us:.1f} CPU µs per stream ({state.events} events, done {state.done})")
    for label, told in (("told by the server protocol", True), ("a watcher task on receive()", False)):
        us = uvloop.run(measure_watched([body], args.streams, told=told))
        print(f"one read, watching for the client ({label}): {us:.1f} CPU µs per stream")


if __name__ == "__main__":
    main()
