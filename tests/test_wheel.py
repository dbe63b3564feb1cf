"""A built wheel carries the built web console, so `pip install headwater` serves it without Node."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = ROOT / "src" / "headwater" / "console"


def test_the_wheel_holds_the_built_console(tmp_path: Path) -> None:
    if not (CONSOLE / "index.html").is_file():
        pytest.fail("the console is not built: run `make console` (make test builds it before pytest)")
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
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("headwater-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "headwater/console/index.html" in names
    built = {
        path.relative_to(CONSOLE.parent.parent).as_posix() for path in CONSOLE.rglob("*") if path.is_file()
    }
    assert built <= names, sorted(built - names)[:5]  # every built file, hashed assets included
    assert any(name.startswith("headwater/console/assets/") and name.endswith(".js") for name in names)
    assert not any(name.startswith(("ui/", "headwater/ui/")) or "node_modules" in name for name in names)
