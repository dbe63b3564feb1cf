"""`make run` (headwater demo): the printed curl and SDK snippets work exactly as printed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import free_port

pytestmark = pytest.mark.e2e


def _read_banner(process: subprocess.Popen[str], timeout: float = 60) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        lines.append(line)
        if "Press Ctrl-C to stop" in line:
            return "".join(lines)
    raise AssertionError("no banner:\n" + "".join(lines))


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("sigint", ["default", "inherited ignored"])
def test_demo_prints_snippets_that_work(tmp_path: Path, sigint: str) -> None:
    # "inherited ignored": SIGINT ignored from the start, as for `make run &` in a shell without job control
    port, sim_port = free_port(), free_port()
    env = {**os.environ, "HEADWATER_DATA_DIR": str(tmp_path / ".headwater"), "COLUMNS": "200"}
    env.pop("HEADWATER_ADMIN_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "demo", "--port", str(port), "--sim-port", str(sim_port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_ignore_sigint if sigint == "inherited ignored" else None,
        start_new_session=True,  # its server and simulator too can be killed if it hangs
    )
    try:
        banner = _read_banner(process)
        assert "Warning" not in banner, banner  # a newcomer sees only our own words at start
        assert f"http://127.0.0.1:{port}/v1" in banner
        assert f"http://127.0.0.1:{port}/api/docs" in banner
        # the console comes first (make run builds it), then how to sign in to it
        assert banner.index("Console") < banner.index("Gateway (OpenAI-compatible)"), banner
        assert f"http://127.0.0.1:{port}/ " in banner, banner
        key = re.search(r"Demo API key \(shown once\)\s+(hwk_\S+)", banner)
        assert key, banner

        curl = banner[banner.index("curl http") : banner.index("or with the OpenAI SDK")].strip()
        result = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0 and '"chat.completion"' in result.stdout, result.stdout + result.stderr

        snippet = banner[banner.index("from openai import OpenAI") : banner.index("The CLI:")]
        result = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0 and result.stdout.strip(), result.stderr
        assert (tmp_path / ".headwater" / "headwater.db").exists()
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            rest, _ = process.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            raise AssertionError(
                f"the demo did not stop within 40 s of Ctrl-C; its output:\n{output[-4000:]}"
            ) from None
    assert process.returncode == 0, rest
    assert "stopped" in rest
