"""The usage journal: what a process appends survives it (SIGKILL included) and is replayed once.

Processes that die are real processes (``python -c``) killed with SIGKILL, so the kernel releases
their segment locks as it would in production. Replays go through the real SQL store on SQLite and
on PostgreSQL; the rows and the rollups are counted.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import mmap
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.storage.sql import migrate
from headwater.storage.sql.database import create_engine
from headwater.storage.sql.tables import usage_events, usage_hourly
from headwater.storage.sql.usage import SqlUsageStore
from headwater.usage.events import UsageEvent
from headwater.usage.journal import Journal
from headwater.usage.journal_codec import USAGE_CODEC
from headwater.usage.journal_files import journal_directory
from headwater.usage.writer import BatchWriter


def event(n: int, tag: str = "t", **changes: object) -> UsageEvent:
    fields: dict[str, object] = dict(
        ts=time.time(), request_id=f"r{n}", key_id="k", principal="user:a", model=f"m-{tag}",
        deployment="m/0", provider="openai", endpoint="chat", prompt_tokens=3, completion_tokens=4,
        cost=Decimal("0.000123"), currency="USD", status="success", http_status=200, latency_ms=1.5,
        ttft_ms=None, streamed=False, estimated=False, event_id=f"{tag}-{n}", groups=("a", "b"),
        cost_center="cc", policy="gold",
    )  # fmt: skip
    fields.update(changes)
    return UsageEvent(**fields)  # type: ignore[arg-type]


def segments(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.jnl"))


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    return tmp_path / "journal"


async def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


class Store:
    """Records what it is given; fails while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.batches: list[list[str]] = []

    @property
    def ids(self) -> list[str]:
        return [event_id for batch in self.batches for event_id in batch]

    async def write(self, events: Sequence[UsageEvent]) -> None:
        await asyncio.sleep(0)
        if self.down:
            raise ConnectionError("database is down")
        self.batches.append([e.event_id for e in events])


def writer(store: object, journal: Journal[UsageEvent], **options: object) -> BatchWriter[UsageEvent]:
    settings: dict[str, object] = {"flush_interval_s": 0.02, "batch_size": 50, "max_backoff_s": 0.05}
    settings.update(options)
    return BatchWriter(store, journal=journal, **settings)  # type: ignore[arg-type]


# ---- a process that dies ------------------------------------------------------------------------
def die_after(directory: str, tag: str, count: int, done: int, segment_bytes: int) -> None:
    """Run in a child process: journal ``count`` events, mark ``done`` of them written, SIGKILL."""
    journal = Journal(Path(directory), USAGE_CODEC, segment_bytes=segment_bytes)
    journal.open()
    for n in range(count):
        journal.append(event(n, tag))
    journal.done(done)
    os.kill(os.getpid(), signal.SIGKILL)


def killed_process(directory: Path, tag: str, count: int, done: int, segment_bytes: int = 1 << 26) -> None:
    code = f"from tests.usage.test_journal import die_after; die_after({str(directory)!r}, {tag!r}, "
    code += f"{count}, {done}, {segment_bytes})"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr


# ---- the real store -----------------------------------------------------------------------------
@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


async def stored(engine: AsyncEngine, tag: str) -> tuple[int, int]:
    """Rows and rollup requests of the events tagged ``tag``."""
    async with engine.connect() as conn:
        rows = await conn.scalar(select(func.count()).where(usage_events.c.model == f"m-{tag}"))
        requests = await conn.scalar(
            select(func.coalesce(func.sum(usage_hourly.c.requests), 0)).where(
                usage_hourly.c.model == f"m-{tag}"
            )
        )
    return int(rows or 0), int(requests or 0)


async def test_a_killed_process_events_are_replayed_from_its_mark_and_written_once(
    engine: AsyncEngine, journal_dir: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    # The process wrote 60 events, but was killed before it marked more than 40 of them done.
    await SqlUsageStore(engine).write([event(n, tag) for n in range(60)])
    killed_process(journal_dir, tag, count=100, done=40)
    (orphan,) = segments(journal_dir)

    sent: list[int] = []
    store = SqlUsageStore(engine)

    class Counting:
        async def write(self, events: Sequence[UsageEvent]) -> None:
            sent.append(len(events))
            await store.write(events)

    replayer = writer(Counting(), Journal(journal_dir, USAGE_CODEC))
    replayer.start()
    await wait_until(lambda: orphan not in segments(journal_dir))
    assert replayer.replayed == 60 and sum(sent) == 60  # from the mark on: not the 40 marked done
    assert await stored(engine, tag) == (100, 100)  # 60..99 added, 40..59 not twice; rollups alike
    await replayer.close()
    assert segments(journal_dir) == []


async def test_a_replay_cut_short_goes_on_from_its_mark_without_counting_twice(
    engine: AsyncEngine, journal_dir: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    killed_process(journal_dir, tag, count=3000, done=0)
    first = writer(SqlUsageStore(engine), Journal(journal_dir, USAGE_CODEC), batch_size=100)
    first.start()
    await wait_until(lambda: first.replayed >= 100)
    await first.close()  # stops mid-replay: the segment is released, its mark says how far it got
    assert 100 <= first.replayed < 3000
    second = writer(SqlUsageStore(engine), Journal(journal_dir, USAGE_CODEC), batch_size=100)
    second.start()
    await wait_until(lambda: segments(journal_dir) == [] or first.replayed + second.replayed == 3000)
    await second.close()
    assert first.replayed + second.replayed == 3000
    assert await stored(engine, tag) == (3000, 3000)
    assert segments(journal_dir) == []


async def test_a_torn_last_line_is_skipped(journal_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "headwater.usage")
    killed_process(journal_dir, "torn", count=20, done=0)
    (name,) = segments(journal_dir)
    with (journal_dir / name).open("ab") as segment:
        segment.write(USAGE_CODEC.encode(event(20, "torn"))[:37])  # killed in the middle of a write
    store = Store()
    replayer = writer(store, Journal(journal_dir, USAGE_CODEC))
    replayer.start()
    await wait_until(lambda: name not in segments(journal_dir))
    await replayer.close()
    assert store.ids == [f"torn-{n}" for n in range(20)]
    assert "1 unreadable lines skipped" in caplog.text


async def test_segments_of_live_processes_are_never_taken_and_an_orphan_only_once(
    journal_dir: Path,
) -> None:
    live = Journal(journal_dir, USAGE_CODEC)
    live.open()
    live.append(event(1))
    (alive,) = segments(journal_dir)
    killed_process(journal_dir, "gone", count=5, done=0)
    first, second = Journal(journal_dir, USAGE_CODEC), Journal(journal_dir, USAGE_CODEC)
    taken = first.take_orphans()
    assert len(segments(journal_dir)) == 2 and [orphan.name for orphan in taken] != [alive]
    assert len(taken) == 1 and second.take_orphans() == []  # locked by the first taker
    assert [e.event_id for e in taken[0].read(100)] == [f"gone-{n}" for n in range(5)]
    for journal in (first, second, live):
        journal.close()
    third = Journal(journal_dir, USAGE_CODEC)  # the next start: both left unwritten, both released
    assert sorted(orphan.name for orphan in third.take_orphans()) == segments(journal_dir)
    third.close()


async def test_segments_rotate_by_size_and_go_once_written(journal_dir: Path) -> None:
    store = Store()
    journal = Journal(journal_dir, USAGE_CODEC, segment_bytes=4096, truncate_bytes=2048)
    batch = writer(store, journal)
    batch.start()
    for n in range(200):  # about 60 events a segment
        batch.emit(event(n))
        if n == 100:
            assert len(segments(journal_dir)) >= 2
    await wait_until(lambda: len(store.ids) == 200)
    await wait_until(lambda: len(segments(journal_dir)) == 1)
    (current,) = segments(journal_dir)
    # emptied in place once all written (the live segment keeps its reserved space, zeros)
    assert len((journal_dir / current).read_bytes().rstrip(b"\0")) < 2048
    assert store.ids == [f"t-{n}" for n in range(200)]
    await batch.close()
    assert segments(journal_dir) == [] and not journal_dir.exists()


async def test_a_full_buffer_spills_to_the_journal_and_nothing_is_lost(journal_dir: Path) -> None:
    store = Store()
    store.down = True
    batch = writer(store, Journal(journal_dir, USAGE_CODEC), buffer_limit=100)
    batch.start()
    for n in range(1000):
        batch.emit(event(n))
    assert batch.pending == 1000 and len(batch._buffer) == 100 and batch.dropped == 0
    await asyncio.sleep(0.1)
    store.down = False
    await wait_until(lambda: batch.pending == 0)
    assert store.ids == [f"t-{n}" for n in range(1000)]  # in order, each once
    for n in range(1000, 1010):  # buffered again, not spilled
        batch.emit(event(n))
    assert len(batch._buffer) == 10
    await batch.close()
    assert store.ids[-1] == "t-1009" and len(store.ids) == 1010


async def test_graceful_close_while_the_database_is_down_keeps_the_events_for_the_next_start(
    journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store()
    store.down = True
    batch = writer(store, Journal(journal_dir, USAGE_CODEC), buffer_limit=50)
    batch.start()
    for n in range(120):
        batch.emit(event(n))
    await batch.close(timeout_s=0.2)
    assert "keeps 120 of them for the next start" in caplog.text
    store.down = False
    after = writer(store, Journal(journal_dir, USAGE_CODEC))
    after.start()
    await wait_until(lambda: after.replayed == 120)
    await after.close()
    assert sorted(store.ids) == sorted(f"t-{n}" for n in range(120)) and segments(journal_dir) == []


async def test_an_unwritable_directory_is_reported_and_events_are_still_written(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    journal = Journal(blocker / "journal", USAGE_CODEC, retry_s=0.01)
    store = Store()
    batch = writer(store, journal)
    batch.start()
    assert journal.problem is not None and "not-a-directory" in journal.problem and journal.failures == 1
    for n in range(10):
        batch.emit(event(n))
    await wait_until(lambda: len(store.ids) == 10)  # from memory
    blocker.unlink()
    await wait_until(lambda: journal.problem is None)  # the writer tried again
    batch.emit(event(10))
    assert len(segments(blocker / "journal")) == 1 and journal.unjournaled == 10
    await wait_until(lambda: len(store.ids) == 11)
    await batch.close()


async def test_with_the_journal_and_the_database_both_down_a_full_buffer_drops_the_newest(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = Store()
    store.down = True
    batch = writer(store, Journal(blocker / "journal", USAGE_CODEC), buffer_limit=10)
    batch.start()
    for n in range(15):
        batch.emit(event(n))
    assert batch.pending == 10 and batch.dropped == 5
    store.down = False
    await batch.close()
    assert store.ids == [f"t-{n}" for n in range(10)]


def fill_the_disk(directory: str) -> None:
    """Run in a child process: a journal on a "disk" that fills up once its first segment has
    reserved its space (RLIMIT_FSIZE): the next segment cannot reserve its own."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    journal = Journal(Path(directory), USAGE_CODEC, segment_bytes=4096)
    journal.open()
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, resource.RLIM_INFINITY))
    journaled = sum(journal.append(event(n, "full")) for n in range(100))
    state = {"journaled": journaled, "problem": journal.problem, "unjournaled": journal.unjournaled}
    print(json.dumps(state), flush=True)
    os._exit(0)


async def test_a_full_disk_is_reported_and_what_was_journaled_is_replayed(journal_dir: Path) -> None:
    code = f"from tests.usage.test_journal import fill_the_disk; fill_the_disk({str(journal_dir)!r})"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    state = json.loads(child.stdout)
    assert 0 < state["journaled"] < 100 and state["unjournaled"] == 100 - state["journaled"]
    assert state["problem"].startswith(f"cannot write to {journal_dir}")
    store = Store()
    replayer = writer(store, Journal(journal_dir, USAGE_CODEC))
    replayer.start()
    await wait_until(lambda: replayer.replayed == state["journaled"])
    await replayer.close()
    assert store.ids == [f"full-{n}" for n in range(state["journaled"])]


def test_the_codec_reads_back_what_it_wrote() -> None:
    original = event(1, ttft_ms=12.5, cost=Decimal("0.000000000001"), groups=("x",), policy=None)
    header = USAGE_CODEC.header()
    decode = USAGE_CODEC.decoder(header)
    assert decode is not None
    assert decode(USAGE_CODEC.encode(original).rstrip(b"\n")) == original
    huge = event(2, prompt_tokens=2**70)  # past what orjson encodes: kept, as text
    assert decode(USAGE_CODEC.encode(huge).rstrip(b"\n")).prompt_tokens == str(2**70)  # type: ignore[comparison-overlap]


def test_a_header_with_other_fields_still_reads() -> None:
    """A journal written by another version: a field added since, one removed since."""
    fields = ["ts", "request_id", "key_id", "principal", "model", "deployment", "provider", "endpoint",
              "prompt_tokens", "completion_tokens", "cost", "currency", "status", "http_status",
              "latency_ms", "ttft_ms", "streamed", "estimated", "event_id", "retired_field"]  # fmt: skip
    header = json.dumps({"journal": 1, "kind": "usage", "fields": fields}).encode()
    decode = USAGE_CODEC.decoder(header)
    assert decode is not None
    line = json.dumps([1.0, "r", "k", "p", "m", "d", "openai", "chat", 1, 2, "0.5", "USD", "success", 200,
                       3.0, None, False, False, "e1", "gone"]).encode()  # fmt: skip
    decoded = decode(line)
    assert decoded.cost == Decimal("0.5") and decoded.groups == () and decoded.policy is None
    assert USAGE_CODEC.decoder(b'{"journal": 99, "kind": "usage", "fields": []}') is None


def test_each_database_has_its_own_journal_and_passwords_stay_out_of_its_name(tmp_path: Path) -> None:
    first = journal_directory(tmp_path, "postgresql+asyncpg://hw:secret@db1/headwater")
    assert first == journal_directory(tmp_path, "postgresql+asyncpg://hw:other@db1/headwater")
    assert first != journal_directory(tmp_path, "postgresql+asyncpg://hw@db2/headwater")
    assert first.parent == tmp_path and "secret" not in str(first)


async def test_a_filesystem_that_cannot_reserve_space_gets_a_write_per_event(
    journal_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unsupported(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(os, "posix_fallocate", unsupported)
    store = Store()
    journal = Journal(journal_dir, USAGE_CODEC, segment_bytes=4096)
    batch = writer(store, journal)
    journal.open()
    for n in range(100):  # several segments' worth, without a memory map
        batch.emit(event(n, "plain"))
    assert journal.problem is None and journal.unjournaled == 0
    lines = b"".join((journal_dir / name).read_bytes() for name in sorted(segments(journal_dir)))
    assert lines.count(b"\n") == 100 + len(segments(journal_dir))  # the events and each header
    assert "cannot reserve space" in caplog.text
    batch.start()
    await wait_until(lambda: len(store.ids) == 100)
    await batch.close()
    assert store.ids == [f"plain-{n}" for n in range(100)]


def mapped_resident_bytes(directory: Path) -> int:
    """How much of this process's mappings of files under ``directory`` is resident (smaps' Rss)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and ":" not in fields[0]:  # a mapping's header line
            inside = len(fields) >= 6 and fields[5].startswith(str(directory))
        elif inside and fields and fields[0] == "Rss:":
            total += int(fields[1]) * 1024
    return total


async def test_written_pages_leave_resident_memory_and_still_read_back(journal_dir: Path) -> None:
    store = Store()
    store.down = True  # everything stays in the journal, spilled past the buffer
    journal = Journal(journal_dir, USAGE_CODEC, release_bytes=64 * 1024)
    batch = writer(store, journal, buffer_limit=100)
    batch.start()
    for n in range(20_000):
        batch.emit(event(n))
    written = journal._current.size
    assert written > 2 * 1024 * 1024  # megabytes of lines in the mapped segment…
    assert mapped_resident_bytes(journal_dir) <= 64 * 1024 + 2 * mmap.PAGESIZE  # …few of them resident
    store.down = False
    await wait_until(lambda: len(store.ids) >= 20_000, timeout=30)
    assert store.ids == [f"t-{n}" for n in range(20_000)]  # read back from given-back pages, in order
    await batch.close()
