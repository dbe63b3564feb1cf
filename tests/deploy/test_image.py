"""The image's install path is the tested one, and the Containerfile keeps its promises.

This machine cannot build images. So the Containerfile's invariants are checked as text (non-root,
arbitrary-UID friendly, the lock and scripts/install-runtime.sh used, the entry point), and the
install script itself is run into a fresh directory exactly as the image runs it: what it installs
must be requirements.lock, pin for pin, plus the wheel, and the result must serve.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from headwater import __version__
from tests.support import STARTED, free_port, ready_or_stopped, stop

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-runtime.sh"
LOCK = ROOT / "requirements.lock"


def stages() -> list[list[str]]:
    """The Containerfile's instructions (continuation lines joined), one list per stage."""
    text = re.sub(r"\\\n", " ", (ROOT / "Containerfile").read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    found: list[list[str]] = []
    for line in lines:
        if line.startswith("FROM "):
            found.append([])
        if found:
            found[-1].append(line)
    return found


def test_the_containerfile_keeps_its_promises() -> None:
    *build, runtime = stages()
    assert len(build) >= 1, "multi-stage: the console and the wheel are built in earlier stages"
    assert any("npm ci" in line for stage in build for line in stage), "the console from its lock file"
    assert any("--require-hashes" in line for stage in build for line in stage), "the wheel from locked tools"
    assert re.fullmatch(r"FROM \$\{PYTHON_IMAGE\}", runtime[0])
    assert "ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm" in "\n".join(
        line for line in (ROOT / "Containerfile").read_text().splitlines()
    )
    install = [line for line in runtime if line.startswith("RUN") and "install-runtime.sh" in line]
    assert len(install) == 1 and "/opt/headwater" in install[0], "installed by the tested script"
    assert any(line.startswith("COPY requirements.lock") for line in runtime)
    assert not any(re.search(r"pip[^|&;]* install", line) for line in runtime), "only the script installs"
    users = [line for line in runtime if line.startswith("USER ")]
    assert users == ["USER 1001:0"], "non-root, group 0 (an arbitrary UID on OpenShift is in group 0)"
    assert runtime.index(users[0]) > runtime.index(install[0])
    assert any("chmod -R g=u /var/lib/headwater" in line for line in runtime), "group-writable data dir"
    assert 'ENTRYPOINT ["headwater", "serve"]' in runtime
    assert "EXPOSE 8080" in runtime
    assert not any(line.startswith("HEALTHCHECK") for line in runtime), "probes are the orchestrator's"
    assert 'VOLUME ["/var/lib/headwater"]' in runtime
    env = " ".join(line[4:] for line in runtime if line.startswith("ENV "))
    names = set(re.findall(r"([A-Z_][A-Z0-9_]*)=", env))
    assert {n for n in names if not n.startswith("HEADWATER_")} <= {
        "PATH",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
    }
    assert "HEADWATER_DATA_DIR=/var/lib/headwater" in env and "HEADWATER_HOST=0.0.0.0" in env
    ignored = (ROOT / ".containerignore").read_text().split()
    assert {".git", ".venv", "**/node_modules", "src/headwater/console"} <= set(ignored)


def _pins(lines: str) -> dict[str, str]:
    found = {}
    for line in lines.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("headwater-*.whl")
    return built


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.e2e
def test_the_install_script_installs_the_lock_and_the_wheel_and_serves(tmp_path: Path, wheel: Path) -> None:
    runtime = tmp_path / "runtime"
    done = run_script(str(runtime), str(wheel))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith(__version__)
    headwater = runtime / "bin" / "headwater"
    helped = subprocess.run([headwater, "--help"], capture_output=True, text=True, timeout=60, check=True)
    assert "serve" in helped.stdout and "migrate" in helped.stdout
    listed = subprocess.run(
        [runtime / "bin" / "python", "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = _pins("\n".join(f"{p['name']}=={p['version']}" for p in json.loads(listed)))
    assert installed.pop("headwater") == __version__  # from the wheel, not an editable checkout
    installed.pop("pip", None)  # the venv's own
    installed.pop("setuptools", None)
    assert installed == _pins(LOCK.read_text()), "the runtime is exactly requirements.lock"

    # what the image runs: `headwater serve` from that runtime, its data on a volume, nothing else
    port = free_port()
    data = tmp_path / "volume"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(HEADWATER_HOST="127.0.0.1", HEADWATER_PORT=str(port), HEADWATER_DATA_DIR=str(data))
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [headwater, "serve"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
    )
    STARTED.append(process)
    try:
        ready_or_stopped(f"http://127.0.0.1:{port}/readyz", process, timeout=60)
    finally:
        stop(process)
        log.close()
    served = (tmp_path / "serve.log").read_text()
    assert process.returncode in (0, -signal.SIGTERM), served[
        -3000:
    ]  # uvicorn re-raises SIGTERM after the drain
    assert "Application shutdown complete" in served
    assert (data / "headwater.db").is_file() and (data / "journal").is_dir()


def test_the_install_script_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "something").write_text("x")
    refused = run_script(str(tmp_path / "used"), str(tmp_path / "missing.whl"))
    assert refused.returncode == 2 and "no wheel at" in refused.stderr
    fake = tmp_path / "headwater-0.0.0-py3-none-any.whl"
    fake.write_text("not a wheel")
    refused = run_script(str(tmp_path / "used"), str(fake))
    assert refused.returncode == 2 and "is not empty" in refused.stderr
    assert (tmp_path / "used" / "something").read_text() == "x"
    assert run_script().returncode == 2
