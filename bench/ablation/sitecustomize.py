"""Bench only: switch parts of Headwater's per-call work off, to measure what each costs.

Never part of the product. ``bench/ablate.sh`` puts this directory on ``PYTHONPATH`` of a ``make
bench`` run with ``BENCH_ABLATE`` naming the parts to switch off (comma-separated); Python imports
this module at the start of every process, and it acts only in ``headwater serve``:

* ``journal``   the usage journal's line (encoding, copy into the mapped segment); the event still
                goes to the writer and the metrics;
* ``usage``     the usage event after it is made and priced: not journaled, not buffered for the
                database, not folded into the metrics;
* ``store``     the usage store's write: batches are taken from the writer and thrown away (no rows,
                no rollups, no SQL), the journal marked as written as usual;
* ``metrics``   the request metrics' share of each usage event (the fold into ``/metrics``);
* ``deadlines`` the per-call deadlines (request body, upstream answer, response read): not watched;
* ``looplag``   the event-loop lag sampler (100 wake-ups a second, ~0.4 µs per request at full
                load): bench/instructions.py switches it off, since under valgrind a request takes
                ~50× longer and the sampler's wake-ups, fewer while the loop is busy, would swamp
                what is counted.

With ``BENCH_CPROFILE=PATH``, ``headwater serve`` also runs under cProfile and writes its stats to
PATH when it exits: exact call counts per request, whatever else the machine does.

Each part switched off changes what Headwater promises (no journal: a killed process loses events;
no deadlines: a stalled upstream holds a call forever), so the figures say what a promise costs,
not something to ship.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _switch_off(parts: set[str]) -> None:
    if "journal" in parts:
        from headwater.usage.journal import Journal

        def append(self: Any, event: object) -> bool:
            segment = self._current
            segment.appended += 1
            self.count += 1
            return True

        Journal.append = append  # type: ignore[method-assign]
    if "usage" in parts:
        from headwater.usage.fanout import FanOut

        FanOut.emit = lambda self, event: None  # type: ignore[method-assign]
    if "store" in parts:
        from headwater.storage.sql.usage import SqlUsageStore

        async def write(self: Any, events: object) -> None:
            return None

        SqlUsageStore.write = write  # type: ignore[method-assign]
    if "metrics" in parts:
        from headwater.request_metrics import RequestMetrics

        made = RequestMetrics.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            made(self, *args, **kwargs)
            self.emit = lambda event: None  # its emit is an instance's list append

        RequestMetrics.__init__ = init  # type: ignore[method-assign]
    if "deadlines" in parts:
        from headwater.serving.deadlines import Watch

        def enter(self: Any) -> Any:
            return self

        def leave(self: Any, *exc: object) -> None:
            return None

        Watch.__enter__ = enter  # type: ignore[method-assign]
        Watch.__exit__ = leave  # type: ignore[method-assign]
    if "looplag" in parts:
        from headwater.serving.loop_lag import LoopLag

        LoopLag.start = lambda self: None  # type: ignore[method-assign]


def _profile(path: str) -> None:
    """cProfile over the whole process, written to ``path`` when it exits (``BENCH_CPROFILE``)."""
    import atexit
    import cProfile

    profiler = cProfile.Profile()

    def dump() -> None:
        profiler.disable()
        profiler.dump_stats(path)

    atexit.register(dump)
    profiler.enable()


_serving = os.path.basename(sys.argv[0] if sys.argv else "") == "headwater" and "serve" in sys.argv
_parts = {part for part in os.environ.get("BENCH_ABLATE", "").split(",") if part}
if _parts and _serving:
    unknown = _parts - {"journal", "usage", "store", "metrics", "deadlines", "looplag"}
    if unknown:
        raise SystemExit(f"BENCH_ABLATE: unknown parts {sorted(unknown)}")
    _switch_off(_parts)
if os.environ.get("BENCH_CPROFILE") and _serving:
    _profile(os.environ["BENCH_CPROFILE"])
