"""The test helpers themselves: a server that never gets ready is stopped, never left running."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import free_port, ready_or_stopped


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
