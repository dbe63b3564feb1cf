"""The test helpers themselves: a server that never gets ready is stopped, never left running."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import support
from tests.support import free_port, headwater, ready_or_stopped, stop_all


def test_a_process_that_never_gets_ready_is_stopped() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        with pytest.raises(RuntimeError, match="not ready"):
            ready_or_stopped(f"http://127.0.0.1:{free_port()}/readyz", process, timeout=1.0)
        assert process.poll() is not None  # stopped by the helper, not by the finally below
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_processes_a_failed_fixture_left_behind_are_stopped_at_the_end() -> None:
    """A module fixture that starts a server and then fails never reaches its own stop()."""
    others = list(support.STARTED)  # the session's own processes (the simulator) are not ours to stop
    support.STARTED.clear()
    try:
        server = headwater("sim", "--port", str(free_port()))
        assert stop_all() == [server.pid]
        assert server.poll() is not None
        assert stop_all() == []
    finally:
        support.STARTED[:] = others
