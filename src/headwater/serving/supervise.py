"""Workers that do not outlive the process that started them.

With ``--workers N`` the serving process only supervises; the workers serve. If the serving process
is killed outright (``SIGKILL``, the OOM killer) nothing tells the workers, and they would go on
serving on the shared socket with nobody to stop them. :func:`exit_with_parent`, called in each
worker before it serves, makes a worker stop when its parent is gone, in two ways:

- on Linux, ``prctl(PR_SET_PDEATHSIG, SIGTERM)``: the kernel sends ``SIGTERM`` when the parent dies
  (uvicorn starts every worker from its main thread, the thread the kernel watches);
- everywhere, a watchdog thread that checks twice a second whether the parent process id changed.
  It also covers the race where the parent died before ``prctl`` was set: the first check is
  immediate.

``SIGTERM`` is uvicorn's graceful shutdown (in-flight calls finish, usage is flushed). Should that
hang, the watchdog ends the worker outright once the graceful period and five seconds have passed.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger("headwater.serving")

PR_SET_PDEATHSIG = 1
POLL_S = 0.5
_watching = threading.Event()


def exit_with_parent(parent_pid: int, *, grace_s: float) -> None:
    """Stop this process (``SIGTERM``) as soon as ``parent_pid`` is no longer its parent. Idempotent."""
    if _watching.is_set():
        return
    _watching.set()
    set_parent_death_signal(signal.SIGTERM)
    threading.Thread(
        target=_watch, args=(parent_pid, grace_s), name="headwater-parent-watch", daemon=True
    ).start()


def set_parent_death_signal(sig: signal.Signals) -> bool:
    """Ask Linux to send ``sig`` when the parent dies; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int, grace_s: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    log.warning("the serving process %d is gone: worker %d stops", parent_pid, os.getpid())
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace_s + 5.0)
    os._exit(1)
