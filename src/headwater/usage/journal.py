"""The local append-only journal of one process's events: nothing lost when the process is killed
or the database is down.

Every event is appended before the writer buffers it: one line copied into the segment file through
a shared memory map of it (no system call, no fsync, no lock, no thread: well under a microsecond).
The file's blocks are reserved when the segment is made (``posix_fallocate``), so a full disk is
found then, never while writing; the kernel writes the dirty pages to the file whether or not the
process lives on, so a killed process loses nothing (a crash of the host may). A ``write`` per event
cost 10-30 µs of CPU per call under load: each one updates the file's times through the filesystem's
journal, where a mapped page is updated once per page written back. The journal keeps,
per segment, how many events were appended and how many reached the database (``done``, also on
disk in the segment's mark, see :mod:`headwater.usage.journal_files`). The writer hands events to
the database in the order they were appended, so "done" is a count from the front:

- a segment is sealed when it reaches ``segment_bytes`` (a new one is opened) and deleted once
  sealed and done; the current segment, once all done and past ``truncate_bytes``, is emptied in
  place, so that a quiet journal stays small;
- when the writer's memory buffer is full (a long database outage), events stay on disk only and
  the writer reads them back from a :class:`Position` (:meth:`Journal.read`) once it has room;
- a process that starts takes over the segments of processes that are gone and replays them
  (:meth:`Journal.take_orphans`): the store writes each event once, so a replay never counts twice.

When the journal cannot be written (a full disk, an unwritable directory), events are kept in
memory only, as if it were a segment with no file (``void``); the journal says what is wrong in
:attr:`Journal.problem` (``/readyz``), logs it once, counts it (:attr:`Journal.failures`), and tries
a new segment every ``retry_s``. The gateway keeps serving throughout.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import mmap
import os
import secrets
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from headwater.clock import monotonic
from headwater.usage import journal_files as files
from headwater.usage.journal_codec import Codec, UnreadableLine
from headwater.usage.journal_files import Position, Segment

E = TypeVar("E")

log = logging.getLogger("headwater.usage")

SEGMENT_BYTES = 64 * 1024 * 1024
#: What posix_fallocate answers on a filesystem that cannot reserve space.
_NO_RESERVING = frozenset({errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS, errno.ENODEV})
TRUNCATE_BYTES = 1024 * 1024
#: Mapped pages already written are given back to the kernel every this many bytes: they stay in the
#: file (and the page cache, to be read back or replayed), not in the worker's resident memory. A
#: 64 MiB segment under steady load otherwise adds up to 64 MiB to the RSS before it rotates.
RELEASE_BYTES = 4 * 1024 * 1024


class Journal(Generic[E]):
    def __init__(
        self,
        directory: Path,
        codec: Codec[E],
        *,
        segment_bytes: int = SEGMENT_BYTES,
        truncate_bytes: int = TRUNCATE_BYTES,
        retry_s: float = 1.0,
        release_bytes: int = RELEASE_BYTES,
    ) -> None:
        self.directory = directory
        self._codec = codec
        self._encode = codec.encode
        self._header = codec.header()
        decode = codec.decoder(self._header)
        assert decode is not None, "a codec reads its own header"
        self._decode: Callable[[bytes], E] = decode
        self._segment_bytes = segment_bytes
        self._truncate_bytes = truncate_bytes
        self._release_bytes = release_bytes
        self._retry_s = retry_s
        self._token = secrets.token_hex(8)
        self._serial = 0
        self._current = Segment()
        self._segments: deque[Segment] = deque([self._current])
        self._orphans: list[files.Orphan[E]] = []
        self._next_try = 0.0
        self._closed = False
        self._unmapped = False
        #: While the writer spills (its buffer is full): where the events on disk only begin.
        self.spill: Position | None = None
        #: Events appended (journal-wide; a position's ``index`` counts in it).
        self.count = 0
        #: What is wrong while the journal cannot be written (for ``/readyz``); None when healthy.
        self.problem: str | None = "not opened"
        #: Times the journal became unwritable.
        self.failures = 0
        #: Events kept in memory only because the journal could not be written.
        self.unjournaled = 0
        #: Lines of this journal's own segments that could not be read back (should stay 0).
        self.unreadable = 0

    # ---- the hot path ----------------------------------------------------------------------------
    def append(self, event: E) -> bool:
        """Journal ``event``: True once it is on disk, False when it is kept in memory only."""
        segment = self._current
        segment.appended += 1
        self.count += 1
        if segment.fd < 0:
            self.unjournaled += 1
            return False
        line = self._encode(event)
        start = segment.size
        end = start + len(line)
        mapped = segment.map
        if mapped is not None and end <= len(mapped):
            mapped[start:end] = line
        else:  # longer than the space reserved: written past it (rare: a huge event)
            try:
                written = os.pwrite(segment.fd, line, start)
            except OSError as exc:
                self._broken(segment, exc)
                return False
            if written != len(line):
                self._broken(segment, OSError("short write (is the disk full?)"))
                return False
        segment.size = end
        if end - segment.released >= self._release_bytes:
            segment.release(end)
        if end >= self._segment_bytes:
            self._rotate()
        return True

    def forget_last(self) -> None:
        """Undo the last :meth:`append`, which returned False: that event was dropped."""
        self._current.appended -= 1
        self.count -= 1
        self.unjournaled -= 1

    # ---- the writer's side -----------------------------------------------------------------------
    def open(self) -> None:
        """Create the directory and the first segment; a failure is reported, never raised."""
        self.problem = None
        self._replace_current(self._new_segment())

    def retry(self) -> None:
        """While the journal cannot be written, try a new segment (at most every ``retry_s``)."""
        if self._current.fd >= 0 or self._closed or monotonic() < self._next_try:
            return
        segment = self._new_segment()
        if segment.fd >= 0:
            log.warning("usage journal %s can be written again", self.directory)
            self.problem = None
            self._replace_current(segment)

    def start_spill(self) -> None:
        """The events appended from now on are kept on disk only, until :meth:`read_spilled`
        has read them all."""
        self.spill = Position(self._current, self._current.size, self.count)

    @property
    def spilled(self) -> int:
        """Events kept on disk only, not read back yet."""
        return self.count - self.spill.index if self.spill is not None else 0

    def read_spilled(self, limit: int) -> list[E]:
        """Up to ``limit`` spilled events, oldest first; once they are all read, the spill ends."""
        spill = self.spill
        if spill is None:
            return []
        events = self._read(spill, limit)
        if spill.segment is self._current and spill.offset >= self._current.size:
            self.spill = None
        return events

    def _read(self, position: Position, limit: int) -> list[E]:
        """Up to ``limit`` events appended from ``position`` on, which moves past them."""
        events: list[E] = []
        taken = skipped = 0
        segment, offset = position.segment, position.offset
        while taken < limit:
            if offset >= segment.size:
                following = self._after(segment)
                if following is None:
                    break
                segment, offset = following, following.start
                continue
            chunk = files.complete_lines(segment.fd, offset, segment.size)
            at = 0
            while at < len(chunk) and taken < limit:
                end = chunk.index(b"\n", at)
                line, at = chunk[at:end], end + 1
                taken += 1
                try:
                    events.append(self._decode(line))
                except UnreadableLine:
                    skipped += 1
            offset += at
        while offset >= segment.size and segment is not self._current:
            following = self._after(segment)
            if following is None:
                break
            segment, offset = following, following.start
        position.segment, position.offset = segment, offset
        position.index += taken
        if skipped:  # never written by this codec: nothing to hand the database
            self.unreadable += skipped
            log.error("usage journal %s: %d unreadable lines skipped", self.directory, skipped)
            self.done(skipped)
        return events

    def done(self, count: int) -> None:
        """The next ``count`` events (in the order they were appended) reached the database."""
        segments = self._segments
        while segments:
            segment = segments[0]
            taken = min(count, segment.appended - segment.done)
            segment.done += taken
            count -= taken
            if segment is self._current or segment.done < segment.appended:
                break
            segments.popleft()
            self._delete(segment)
        front = segments[0] if segments else None
        if front is not None and front.mark >= 0:
            with contextlib.suppress(OSError):  # a stale mark only makes a replay longer
                files.write_mark(front.mark, front.done)
        current = self._current
        if (
            current.fd >= 0
            and current.done == current.appended
            and current.size >= self._truncate_bytes
            and self.spill is None
        ):
            self._empty(current)

    # ---- segments of processes that are gone -----------------------------------------------------
    def take_orphans(self) -> list[files.Orphan[E]]:
        """The segments of processes that are gone, taken (locked) for this process to replay."""
        skip = {segment.name for segment in self._segments if segment.name}
        skip.update(orphan.name for orphan in self._orphans)
        try:
            found = files.take_orphans(self.directory, self._codec, skip)
        except OSError as exc:
            log.warning("usage journal %s: cannot look for segments to replay: %s", self.directory, exc)
            return []
        self._orphans += found
        return found

    def finished(self, orphan: files.Orphan[E]) -> None:
        """Every event of ``orphan`` reached the database: delete it."""
        orphan.finish()
        self._orphans.remove(orphan)

    # ---- state -----------------------------------------------------------------------------------
    @property
    def size_bytes(self) -> int:
        """Bytes of the segments that hold events not known to be in the database yet (own segments
        with unwritten events, whole; orphans to replay, what is left of them): 0 when the database
        has everything."""
        own = sum(
            segment.size - segment.start
            for segment in self._segments
            if segment.fd >= 0 and segment.appended > segment.done
        )
        return own + sum(orphan.left_bytes for orphan in self._orphans)

    @property
    def memory_only(self) -> int:
        """Events not written yet that the journal could not keep (lost if the process ends)."""
        return sum(s.appended - s.done for s in self._segments if s.fd < 0)

    def close(self) -> None:
        """Delete what reached the database; what did not stays, unlocked, for the next start."""
        self._closed = True
        for segment in self._segments:
            if segment.fd >= 0 and segment.done >= segment.appended:
                self._delete(segment)
            elif segment.fd >= 0:
                segment.seal()
                files.release(segment.fd, segment.mark)
            segment.fd = segment.mark = -1
        self._current = Segment()
        self._segments = deque([self._current])
        self.spill = None
        for orphan in self._orphans:
            orphan.release()
        self._orphans.clear()
        with contextlib.suppress(OSError):
            self.directory.rmdir()  # only when empty

    # ---- internals -------------------------------------------------------------------------------
    def _new_segment(self) -> Segment:
        self._next_try = monotonic() + self._retry_s
        self._serial += 1
        name = f"{self._codec.kind}-{self._token}-{self._serial:06d}{files.SUFFIX}"
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, mark = files.create_segment(self.directory, name, self._header)
        except OSError as exc:
            self._failed(exc)
            return Segment()
        mapped: mmap.mmap | None = None
        try:
            mapped = self._map(fd)
        except OSError as exc:
            if exc.errno not in _NO_RESERVING:
                files.delete_segment(self.directory, name, fd, mark)
                self._failed(exc)
                return Segment()
            if not self._unmapped:  # a filesystem that cannot reserve space: a write per line
                log.warning(
                    "usage journal %s: cannot reserve space (%s): one write per event", self.directory, exc
                )
                self._unmapped = True
        return Segment(name, fd, mark, len(self._header), mapped)

    def _map(self, fd: int) -> mmap.mmap:
        """Reserve the segment's blocks (ENOSPC now, not a SIGBUS later) and map them."""
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_APPEND)
        os.posix_fallocate(fd, 0, self._segment_bytes)
        return mmap.mmap(fd, self._segment_bytes, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)

    def _replace_current(self, segment: Segment) -> None:
        self._current = segment
        self._segments.append(segment)
        self.done(0)  # the sealed segments already done go

    def _rotate(self) -> None:
        self._current.seal()
        self._replace_current(self._new_segment())

    def _broken(self, segment: Segment, exc: OSError) -> None:
        """Appending to the current ``segment`` failed: seal it; that event and the next ones are
        kept in memory only until :meth:`retry` opens a new segment."""
        self._failed(exc)
        segment.appended -= 1
        segment.seal()
        self._replace_current(Segment())
        self._current.appended = 1
        self.unjournaled += 1

    def _failed(self, exc: OSError) -> None:
        if self.problem is None:
            self.failures += 1
            self.problem = f"cannot write to {self.directory}: {exc.strerror or exc}"
            log.error(
                "usage journal %s cannot be written (%s): usage events are kept in memory only until it can",
                self.directory,
                exc.strerror or exc,
            )

    def _empty(self, segment: Segment) -> None:
        """Everything in the current segment reached the database: start it over, in place."""
        try:
            os.ftruncate(segment.fd, 0)
            if os.pwrite(segment.fd, self._header, 0) != len(self._header):
                raise OSError("short write (is the disk full?)")
            if segment.map is not None:
                os.posix_fallocate(segment.fd, 0, self._segment_bytes)  # the map is whole again
            files.write_mark(segment.mark, 0)
        except OSError as exc:  # sealed (all done: deleted); the next events are kept in memory
            self._failed(exc)
            segment.seal()
            self._replace_current(Segment())
            return
        segment.size = segment.start
        segment.appended = segment.done = segment.released = 0

    def _after(self, segment: Segment) -> Segment | None:
        """The segment after ``segment``; the oldest one left if ``segment`` was all done and
        deleted (then so were all the segments before it)."""
        found = False
        for other in self._segments:
            if found:
                return other
            found = other is segment
        return None if found else self._segments[0]

    def _delete(self, segment: Segment) -> None:
        segment.seal()
        if segment.name is not None:
            try:
                files.delete_segment(self.directory, segment.name, segment.fd, segment.mark)
            except OSError as exc:
                log.warning("usage journal: cannot delete %s: %s", segment.name, exc)
        segment.fd = segment.mark = -1
