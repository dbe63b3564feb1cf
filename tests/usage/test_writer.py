"""The batched usage writer: batching, back-off while the store fails, refused events isolated as
dead letters, nothing lost on close."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

from headwater.usage.events import DeadLetter, RejectedEvents, UsageEvent
from headwater.usage.writer import CATCH_UP, BatchWriter


def event(number: int, prompt_tokens: int = 1) -> UsageEvent:
    return UsageEvent(
        ts=1.0 + number, request_id=f"r{number}", key_id="k", principal="user:a", model="m", deployment="m/0",
        provider="openai", endpoint="chat", prompt_tokens=prompt_tokens, completion_tokens=2,
        cost=Decimal("0.1"), currency="USD", status="success", http_status=200, latency_ms=1.0, ttft_ms=None,
        streamed=False, estimated=False,
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
    for n in range(15):
        writer.emit(event(n))
    await asyncio.sleep(0.05)
    assert [len(b) for b in store.batches] == [10]  # a full batch went at once
    await asyncio.sleep(0.3)
    assert [len(b) for b in store.batches] == [10, 5]  # the rest within the interval
    await writer.close()


async def test_a_writer_behind_catches_up_with_bigger_transactions() -> None:
    store = FlakyStore()
    writer = BatchWriter(store, flush_interval_s=5, batch_size=10)
    for n in range(250):  # more than two batches waiting (a gateway at full load, a slow database)
        writer.emit(event(n))
    writer.start()
    await asyncio.sleep(0.1)
    assert [len(b) for b in store.batches] == [10 * CATCH_UP, 10 * CATCH_UP, 50]
    assert [rid for batch in store.batches for rid in batch] == [f"r{n}" for n in range(250)]
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


class PickyStore:
    """Refuses (as a data error) any batch holding an event with more than 2**31 - 1 prompt tokens,
    like PostgreSQL's INTEGER column; fails like a down database while ``down`` is set."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.calls = 0
        self.down = False

    async def write(self, events: Sequence[UsageEvent]) -> None:
        self.calls += 1
        await asyncio.sleep(0)
        if self.down:
            raise OSError("connection refused")
        if any(e.prompt_tokens > 2**31 - 1 for e in events):
            raise RejectedEvents("NumericValueOutOfRangeError: integer out of range")
        self.written += [e.request_id for e in events]


class Letters:
    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.letters: list[DeadLetter] = []

    async def write(self, letters: Sequence[DeadLetter]) -> None:
        if self.refuse:
            raise RejectedEvents("even this")
        self.letters += letters


async def test_one_refused_event_becomes_a_dead_letter_and_the_rest_are_written() -> None:
    store, letters = PickyStore(), Letters()
    writer = BatchWriter(store, flush_interval_s=0.05, batch_size=250, dead_letters=letters)
    writer.start()
    for n in range(250):
        writer.emit(event(n, prompt_tokens=2**31 if n == 137 else 1))
    for n in range(250, 300):  # emitted after the bad one: never held up by it
        writer.emit(event(n))
    await writer.close(timeout_s=10)
    assert store.written == [f"r{n}" for n in range(300) if n != 137]
    assert writer.written == 299 and writer.dead_lettered == 1 and writer.dropped == 0
    assert writer.pending == 0
    (letter,) = letters.letters
    assert letter.kind == "usage"
    assert letter.error == "NumericValueOutOfRangeError: integer out of range"
    assert letter.payload["request_id"] == "r137"
    assert letter.payload["prompt_tokens"] == 2147483648
    assert letter.payload["cost"] == "0.1"  # decimals as text: JSON-safe
    assert store.calls <= 20  # bisection: about 2 * log2(250) writes, not one per event


async def test_a_dead_letter_refused_too_is_counted_as_dropped() -> None:
    store = PickyStore()
    writer = BatchWriter(store, flush_interval_s=0.05, batch_size=10, dead_letters=Letters(refuse=True))
    for n in range(10):
        writer.emit(event(n, prompt_tokens=2**40 if n in (2, 7) else 1))
    await writer.close(timeout_s=10)
    assert store.written == [f"r{n}" for n in (0, 1, 3, 4, 5, 6, 8, 9)]
    assert writer.dropped == 2 and writer.dead_lettered == 0 and writer.pending == 0


async def test_the_database_failing_while_a_batch_is_split_loses_and_repeats_nothing() -> None:
    store, letters = PickyStore(), Letters()
    writer = BatchWriter(store, flush_interval_s=10, batch_size=8, dead_letters=letters)
    for n in range(8):
        writer.emit(event(n, prompt_tokens=2**31 if n == 6 else 1))
    original = store.write

    async def fail_on_third_call(events: Sequence[UsageEvent]) -> None:
        if store.calls == 2:
            store.calls += 1
            raise ConnectionError("database went away")
        await original(events)

    store.write = fail_on_third_call  # type: ignore[method-assign]
    await writer.close(timeout_s=10)
    assert store.written == [f"r{n}" for n in range(8) if n != 6]
    assert [letter.payload["request_id"] for letter in letters.letters] == ["r6"]


async def test_backs_off_while_the_database_is_down_then_writes_everything_in_order() -> None:
    store, letters = PickyStore(), Letters()
    store.down = True
    writer = BatchWriter(store, flush_interval_s=0.05, batch_size=10, max_backoff_s=0.4, dead_letters=letters)
    writer.start()
    for n in range(1000):  # about 2 s of traffic, a full batch waiting after the tenth event
        writer.emit(event(n))
        if n % 5 == 4:
            await asyncio.sleep(0.01)
    attempts_while_down = store.calls
    # back-off 0.1, 0.2, 0.4, 0.4 ... s: a handful of attempts, not one per request (~1,000)
    assert 2 <= attempts_while_down <= 12, attempts_while_down
    store.down = False
    for _ in range(100):  # the next attempt comes within max_backoff_s
        if len(store.written) == 1000:
            break
        await asyncio.sleep(0.05)
    assert store.written == [f"r{n}" for n in range(1000)]
    assert writer.dropped == 0 and writer.dead_lettered == 0 and not letters.letters
    await writer.close()
