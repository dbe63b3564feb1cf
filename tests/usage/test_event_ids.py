"""Event ids are unique in a process, across forked workers, and fit the column (32 characters)."""

from __future__ import annotations

import os

from headwater.usage.event_ids import new_event_id


def test_unique_and_short() -> None:
    ids = [new_event_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    assert max(len(i) for i in ids) <= 32


def test_a_forked_worker_never_repeats_its_parents_ids() -> None:
    parent = [new_event_id() for _ in range(10)]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what a worker forked after the parent made ids would make
        os.write(write, " ".join(new_event_id() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 1 << 16).decode().split()
    os.close(read)
    assert len(child) == 10
    assert not set(child) & set(parent)
    assert {i[:16] for i in child}.isdisjoint({i[:16] for i in parent})
