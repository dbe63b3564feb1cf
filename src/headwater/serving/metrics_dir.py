"""The directory where the processes of ``headwater serve`` keep their metrics.

prometheus_client's multiprocess mode has each process write its metric values to memory-mapped
files in ``PROMETHEUS_MULTIPROC_DIR``; a scrape, whichever worker answers it, reads them all
(:mod:`headwater.metrics`). The variable must be set before prometheus_client is first imported in
a process: :func:`metrics_directory` sets it in the serving process before the application is
loaded, and the workers inherit it.

- With workers, by default, the directory is a new private one (``mkdtemp``: mode 0700, under
  ``TMPDIR``), removed when the server stops.
- A single serving process needs none: its metrics stay in its own memory.
- A ``PROMETHEUS_MULTIPROC_DIR`` already set (say an ``emptyDir`` volume) is used as it is, with or
  without workers: its stale metric files (``*.db``, from an earlier run) are removed at start, and
  the directory is kept.

When a worker exits, :func:`forget_process` removes its files of live gauges (the files
``gauge_live*_PID.db``, as prometheus_client's ``mark_process_dead`` does), so that the gauges read
the living workers only; its counters and histograms stay, so totals never go back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("headwater.serving")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def metrics_directory(*, workers: bool) -> Iterator[Path | None]:
    """While serving: the metrics directory of this process and its workers (None: not needed)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        yield path
        return
    if not workers:
        yield None
        return
    path = Path(tempfile.mkdtemp(prefix="headwater-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


def forget_process(pid: int) -> None:
    """A worker exited: its live gauges no longer count (no-op outside multiprocess mode)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return
    for path in Path(directory).glob(f"gauge_live*_{pid}.db"):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("cannot remove the metrics of the exited worker %d: %s", pid, exc)
