"""The stream relay gives the client the same bytes and the call the same accounting however the
upstream's stream is cut into reads: one read (the block path), event by event, byte by byte (the
splitter's event path), or at random."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import orjson
import pytest

from headwater.gateway import sse


def chunk(**fields: Any) -> bytes:
    return b"data: " + orjson.dumps({"id": "c1", "object": "chat.completion.chunk", **fields}) + b"\n\n"


def delta(text: str, finish: str | None = None) -> list[dict[str, Any]]:
    return [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]


UPSTREAM = "meta-llama/Llama-3.1-8B-Instruct"
PUBLIC = "llama"
USAGE = {"prompt_tokens": 14, "completion_tokens": 3, "total_tokens": 17}
STREAM = b"".join(
    [
        chunk(model=UPSTREAM, choices=delta("Hello")),
        b": keep-alive comment\n\n",
        chunk(model=UPSTREAM, choices=delta(' "model":"x" in the text')),
        chunk(model=UPSTREAM, choices=delta("!", "stop")),
        chunk(model=UPSTREAM, choices=[], usage=USAGE),
        b"data: [DONE]\n\n",
    ]
)


class Response:
    def __init__(self, reads: list[bytes]) -> None:
        self.content = self
        self._reads = reads

    async def iter_any(self) -> AsyncIterator[bytes]:
        for data in self._reads:
            yield data


def relayed(
    reads: list[bytes], hide_usage: bool, max_event_bytes: int = 4096
) -> tuple[bytes, sse.StreamState]:
    sent: list[bytes] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message["body"])

    state = sse.StreamState()
    work = sse.relay(
        Response(reads),  # type: ignore[arg-type]
        send,
        state,
        hide_usage=hide_usage,
        rename=(),
        max_event_bytes=max_event_bytes,
        public_model=PUBLIC,
    )
    asyncio.run(work)
    return b"".join(sent), state


def cuts(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    points = sorted(rng.sample(range(1, len(data)), 7))
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@pytest.mark.parametrize("hide_usage", [True, False])
def test_every_way_of_reading_the_stream_relays_the_same(hide_usage: bool) -> None:
    whole, state = relayed([STREAM], hide_usage)
    assert UPSTREAM.encode() not in whole and whole.count(f'"model":"{PUBLIC}"'.encode()) == 3 + (
        not hide_usage
    )
    assert (b'"usage":{' in whole) is not hide_usage
    assert b' \\"model\\":\\"x\\" in the text' in whole  # text is never renamed
    assert whole.endswith(b"data: [DONE]\n\n") and b": keep-alive comment\n\n" in whole
    assert (state.events, state.done, state.usage, state.failure) == (3, True, USAGE, None)
    events = [event + b"\n\n" for event in STREAM.split(b"\n\n") if event]
    for reads in (
        [*events],
        [STREAM[i : i + 1] for i in range(len(STREAM))],
        *(cuts(STREAM, s) for s in range(20)),
    ):
        again, other = relayed(reads, hide_usage)
        assert again == whole
        assert (other.events, other.done, other.usage) == (state.events, state.done, state.usage)


def test_a_nameless_first_chunk_gets_the_public_name_in_one_read() -> None:
    azure = chunk(model="", choices=[], prompt_filter_results=[]) + STREAM
    whole, state = relayed([azure], hide_usage=True)
    assert b'"model":""' not in whole and UPSTREAM.encode() not in whole
    assert whole.count(f'"model":"{PUBLIC}"'.encode()) == 4
    assert state.usage == USAGE and state.done


def test_a_stream_without_its_end_is_incomplete() -> None:
    cut = STREAM[: STREAM.rindex(b"data: ", 0, STREAM.index(b'"usage"'))]  # no usage, no [DONE]
    _, state = relayed([cut], hide_usage=True)
    assert state.failure == sse.INCOMPLETE and state.events == 3


def test_a_read_packed_with_usage_events_is_read_once_and_in_order() -> None:
    """A hostile upstream packs thousands of usage-only events (both spellings) into one read: every
    one is hidden, the last one's usage counts, and the block is not copied once per event."""
    spellings = [
        chunk(model=UPSTREAM, choices=[], usage={**USAGE, "completion_tokens": n})
        if n % 2
        else b'data: {"choices": [], "usage": {"prompt_tokens": 14, "completion_tokens": %d}}\n\n' % n
        for n in range(8_000)
    ]
    stream = chunk(model=UPSTREAM, choices=delta("Hi")) + b"".join(spellings) + b"data: [DONE]\n\n"
    relayed_bytes, state = relayed([stream], hide_usage=True, max_event_bytes=len(stream))  # one block
    assert b"usage" not in relayed_bytes and relayed_bytes.endswith(b"data: [DONE]\n\n")
    assert state.usage is not None and state.usage["completion_tokens"] == 7_999
    assert (state.events, state.done) == (1, True)
