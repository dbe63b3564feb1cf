"""What relaying the bench's stream costs: :func:`headwater.gateway.sse.relay`, in-process.

The stream nginx serves in ``make bench`` (10 token chunks, a finish chunk, the usage chunk and
``[DONE]``, ~3 KB) relayed to a no-op ``send``, usage hidden from a client that did not ask for it,
as the gateway does: once as one read (how nginx sends it) and once as a read per event. Prints CPU µs
per relayed stream (``time.process_time``). Issue 16 measured the relay's changes with it.

    .venv/bin/python bench/relay_micro.py [--streams 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

from headwater.gateway import sse
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


async def measure(reads: list[bytes], streams: int) -> tuple[float, sse.StreamState]:
    state = sse.StreamState()
    started = time.process_time()
    for _ in range(streams):
        state = sse.StreamState()
        await sse.relay(
            Response(reads),  # type: ignore[arg-type]
            send,
            state,
            hide_usage=True,
            rename=sse.rename_pairs(MODEL, MODEL),
            max_event_bytes=1 << 20,
            public_model=MODEL,
        )
    return 1e6 * (time.process_time() - started) / streams, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--streams", type=int, default=20_000)
    args = parser.parse_args()
    body = stream_body(1_700_000_000)
    per_event = [event + b"\n\n" for event in body.split(b"\n\n") if event]
    for label, reads in (("one read", [body]), ("a read per event", per_event)):
        us, state = asyncio.run(measure(reads, args.streams))
        print(f"{label}: {us:.1f} CPU µs per stream ({state.events} events, done {state.done})")


if __name__ == "__main__":
    main()
