"""The batched usage writer: batching, retry while the store fails, nothing lost on close."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

from headwater.usage.events import UsageEvent
from headwater.usage.writer import BatchWriter


def event(number: int) -> UsageEvent:
    return UsageEvent(
        ts=1.0 + number, request_id=f"r{number}", key_id="k", principal="user:a", model="m", deployment="m/0",
        provider="openai", endpoint="chat", prompt_tokens=1, completion_tokens=2, cost=Decimal("0.1"),
        currency="USD", status="success", http_status=200, latency_ms=1.0, ttft_ms=None, streamed=False,
        estimated=False,
    )  # fmt: skip


class FlakyStore:
    """Fails ``failures`` times, then stores."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.batches: list[list[str]] = []

    async def write(self, events: Sequence[UsageEvent]) -> None:
        await asyncio.sleep(0)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database is down")
        self.batches.append([e.request_id for e in events])


async def test_flushes_by_size_and_by_time() -> None:
    store = FlakyStore()
    writer = BatchWriter(store, flush_interval_s=0.2, batch_size=10)
    writer.start()
    for n in range(25):
        writer.emit(event(n))
    await asyncio.sleep(0.05)
    assert sum(len(b) for b in store.batches) >= 20  # two full batches went at once
    await asyncio.sleep(0.3)
    assert sum(len(b) for b in store.batches) == 25  # the rest within the interval
    assert all(len(b) <= 10 for b in store.batches)
    await writer.close()


async def test_keeps_events_while_the_store_fails_and_keeps_order() -> None:
    store = FlakyStore(failures=3)
    writer = BatchWriter(store, flush_interval_s=0.05, batch_size=100)
    writer.start()
    for n in range(50):
        writer.emit(event(n))
    await writer.close(timeout_s=10)
    written = [rid for batch in store.batches for rid in batch]
    assert written == [f"r{n}" for n in range(50)]
    assert writer.pending == 0 and writer.dropped == 0


async def test_close_flushes_everything_left() -> None:
    store = FlakyStore()
    writer = BatchWriter(store, flush_interval_s=10, batch_size=1000)
    writer.start()
    for n in range(1234):
        writer.emit(event(n))
    await writer.close()
    assert sum(len(b) for b in store.batches) == 1234


async def test_buffer_limit_drops_oldest_and_counts() -> None:
    store = FlakyStore(failures=10**6)
    writer = BatchWriter(store, flush_interval_s=10, batch_size=5000, buffer_limit=1000)
    for n in range(1500):
        writer.emit(event(n))
    assert writer.pending == 1000 and writer.dropped == 500
