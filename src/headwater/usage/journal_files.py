"""Journal segment files on disk: creating one, its progress mark, and taking over the segments of
processes that are gone (orphans).

A segment ``<kind>-<token>-<serial>.jnl`` belongs to the process holding an exclusive ``flock`` on
it, from the moment it appears under that name (it is created under a ``.new-`` name, locked, given
its header, then renamed) until it is deleted. The kernel releases the lock when the process dies,
however it dies, so an unlocked segment is an orphan. Whoever locks an orphan first takes it: two
processes starting at once never replay the same segment. Beside each segment, ``<name>.done``
holds how many of its events reached the database (rewritten in place after each batch, never
fsynced: it survives the process, which is what it is for); a replay starts after them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import mmap
import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

from headwater.usage.journal_codec import Codec, UnreadableLine

E = TypeVar("E")

log = logging.getLogger("headwater.usage")

SUFFIX = ".jnl"
MARK_SUFFIX = ".done"
NEW_PREFIX = ".new-"
READ_BYTES = 256 * 1024
_FLAGS = os.O_RDWR | os.O_CLOEXEC


def journal_directory(root: Path, database_url: str) -> Path:
    """One journal per database under ``root``: a journal is replayed only into the database it
    was written for (the URL's password is left out of the name)."""
    parts = urlsplit(database_url)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}@{host}"
    digest = hashlib.sha256(urlunsplit(parts._replace(netloc=netloc)).encode()).hexdigest()
    return root / f"db-{digest[:16]}"


class Segment:
    """A segment file (``name``, its descriptors) or, with ``fd`` -1, events kept in memory only."""

    __slots__ = ("appended", "done", "fd", "map", "mark", "name", "released", "size", "start")

    def __init__(
        self,
        name: str | None = None,
        fd: int = -1,
        mark: int = -1,
        start: int = 0,
        mapped: mmap.mmap | None = None,
    ) -> None:
        self.name = name
        self.fd = fd
        self.mark = mark
        self.map = mapped  # while lines are appended to it; None once sealed
        self.start = start  # where events begin (after the header)
        self.size = start  # bytes of whole lines written
        self.appended = 0
        self.done = 0
        #: The mapped bytes before this offset were given back (``MADV_DONTNEED``): the file keeps
        #: them, the process's resident memory does not.
        self.released = 0

    def release(self, end: int) -> None:
        """Give back the mapped pages wholly before ``end``. A shared file mapping loses nothing: a
        later read (spilled events read back, a replay) faults them in again from the file."""
        upto = end - end % mmap.PAGESIZE
        if self.map is None or upto <= self.released:
            return
        with contextlib.suppress(OSError, ValueError):
            self.map.madvise(mmap.MADV_DONTNEED, self.released, upto - self.released)
        self.released = upto

    def seal(self) -> None:
        """No more lines: unmap, and cut the reserved space past the last line."""
        if self.map is not None:
            with contextlib.suppress(OSError, ValueError):
                self.map.close()
            self.map = None
            if self.fd >= 0:
                with contextlib.suppress(OSError):
                    os.ftruncate(self.fd, self.size)


class Position:
    """Where to read the journal back from: a segment, a byte offset, and how many events had been
    appended before it (journal-wide)."""

    __slots__ = ("index", "offset", "segment")

    def __init__(self, segment: Segment, offset: int, index: int) -> None:
        self.segment = segment
        self.offset = offset
        self.index = index


def write_mark(fd: int, done: int) -> None:
    os.pwrite(fd, b"%020d\n" % done, 0)


def read_mark(path: Path) -> int:
    try:
        text = path.read_bytes()[:40].strip()
    except FileNotFoundError:
        return 0
    return int(text) if text.isdigit() else 0


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def create_segment(directory: Path, name: str, header: bytes) -> tuple[int, int]:
    """A new segment, locked, holding only ``header``, and its mark: their file descriptors."""
    new = directory / f"{NEW_PREFIX}{name}"
    path = directory / name
    fd = os.open(new, _FLAGS | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
    mark = -1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.write(fd, header) != len(header):
            raise OSError("short write (is the disk full?)")
        os.rename(new, path)
        mark = os.open(directory / f"{name}{MARK_SUFFIX}", _FLAGS | os.O_CREAT | os.O_TRUNC, 0o600)
        write_mark(mark, 0)
    except BaseException:
        _close(fd, mark)
        for leftover in (new, path, directory / f"{name}{MARK_SUFFIX}"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise
    return fd, mark


def delete_segment(directory: Path, name: str, fd: int, mark: int) -> None:
    """The mark first: a segment left without one is replayed whole, which is harmless."""
    _unlink(directory / f"{name}{MARK_SUFFIX}")
    _unlink(directory / name)
    _close(fd, mark)


def release(fd: int, mark: int) -> None:
    """Close a segment, releasing its lock: whoever scans next takes it over."""
    _close(fd, mark)


def complete_lines(fd: int, offset: int, end: int) -> bytes:
    """The whole lines between ``offset`` and ``end`` (or as many as the first read holds)."""
    size = min(READ_BYTES, end - offset)
    while True:
        chunk = os.pread(fd, size, offset)
        cut = chunk.rfind(b"\n") + 1
        if cut or size >= end - offset or len(chunk) < size:
            return chunk[:cut]
        size = min(size * 4, end - offset)  # a line longer than a read


class Orphan(Generic[E]):
    """A segment taken over from a process that is gone: read from its mark on, then deleted."""

    def __init__(
        self, directory: Path, name: str, fd: int, mark: int, decode: Callable[[bytes], E], start: int
    ) -> None:
        self.directory = directory
        self.name = name
        self._fd = fd
        self._mark = mark
        self._decode = decode
        self.size = os.fstat(fd).st_size
        self.offset = start
        #: Events done (written, dead-lettered, or unreadable) since the header, as the mark says.
        self.done = 0
        self.replayed = 0
        self.unreadable = 0
        #: Events read and not written yet (the database failed): written first next time.
        self.pending: list[E] = []
        self._skipped = 0

    def skip(self, count: int) -> None:
        """Move past the first ``count`` events: those its owner had already written."""
        while count > 0 and self.offset < self.size:
            chunk = complete_lines(self._fd, self.offset, self.size)
            if not chunk:
                break
            lines = chunk.count(b"\n")
            if lines <= count:
                self.offset += len(chunk)
                count -= lines
                self.done += lines
                continue
            cut = 0
            for _ in range(count):
                cut = chunk.index(b"\n", cut) + 1
            self.offset += cut
            self.done += count
            count = 0

    def read(self, limit: int) -> list[E]:
        """Up to ``limit`` events from where the last read stopped; unreadable lines are skipped
        (and counted); a torn last line (the owner died writing it) ends the segment."""
        events: list[E] = []
        while len(events) < limit and self.offset < self.size:
            chunk = complete_lines(self._fd, self.offset, self.size)
            if not chunk:  # a last line without its newline: torn
                self.unreadable += 1
                self.offset = self.size
                break
            at = 0
            while at < len(chunk) and len(events) < limit:
                end = chunk.index(b"\n", at)
                line = chunk[at:end]
                at = end + 1
                try:
                    events.append(self._decode(line))
                except UnreadableLine:
                    self.unreadable += 1
                    self._skipped += 1
            self.offset += at
        return events

    def advance(self, written: int) -> None:
        """``written`` events read reached the database: move the mark past them."""
        self.done += written + self._skipped
        self.replayed += written
        self._skipped = 0
        if self._mark >= 0:
            with contextlib.suppress(OSError):
                write_mark(self._mark, self.done)

    @property
    def left_bytes(self) -> int:
        return max(self.size - self.offset, 0)

    def finish(self) -> None:
        delete_segment(self.directory, self.name, self._fd, self._mark)

    def release(self) -> None:
        release(self._fd, self._mark)


def _header(fd: int) -> bytes | None:
    first = os.pread(fd, 64 * 1024, 0)
    end = first.find(b"\n")
    return first[: end + 1] if end >= 0 else None


def take(directory: Path, name: str, codec: Codec[E]) -> Orphan[E] | None:
    """Lock the segment ``name`` if nobody holds it: then it is ours to replay."""
    path = directory / name
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # alive, or being replayed by another process
        _close(fd)
        return None
    except BaseException:
        _close(fd)
        raise
    if os.fstat(fd).st_nlink == 0:  # another replayer finished and deleted it meanwhile
        _close(fd)
        return None
    header = _header(fd)
    decode = codec.decoder(header) if header else None
    if decode is None:
        if header is None and os.fstat(fd).st_size == 0:  # its owner died creating it
            delete_segment(directory, name, fd, -1)
        else:
            log.error("journal segment %s is in a format this version cannot read: left as %s.unknown",
                      path, name)  # fmt: skip
            with contextlib.suppress(OSError):
                path.rename(path.with_name(f"{name}.unknown"))
            _close(fd)
        return None
    assert header is not None
    mark_path = directory / f"{name}{MARK_SUFFIX}"
    done = read_mark(mark_path)
    try:
        mark = os.open(mark_path, _FLAGS | os.O_CREAT, 0o600)
    except OSError:
        mark = -1  # replayed whole next time if this replay is cut short: harmless
    orphan = Orphan(directory, name, fd, mark, decode, len(header))
    orphan.skip(done)
    return orphan


def take_orphans(directory: Path, codec: Codec[E], skip: Collection[str]) -> list[Orphan[E]]:
    """Every segment of ``codec``'s kind nobody holds, taken (locked), oldest name first."""
    try:
        names = sorted(entry.name for entry in os.scandir(directory))
    except FileNotFoundError:
        return []
    orphans: list[Orphan[E]] = []
    for name in names:
        if name.startswith(NEW_PREFIX):
            _remove_stillborn(directory / name)
        elif name.startswith(f"{codec.kind}-") and name.endswith(SUFFIX) and name not in skip:
            orphan = take(directory, name, codec)
            if orphan is not None:
                orphans.append(orphan)
    return orphans


def _remove_stillborn(path: Path) -> None:
    """A segment its creator died before naming: nothing in it but perhaps a header."""
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        _close(fd)
        return
    _unlink(path)
    _close(fd)
