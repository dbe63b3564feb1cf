"""Domain code loads no web framework: importing a service, in a fresh interpreter, imports neither
FastAPI nor Starlette.

The import-linter contracts in pyproject.toml check the imports as written; this checks what an
import really loads, third-party packages' own imports included (import-linter stops at them). The
web layer is the admin API (``headwater.admin``), each domain's router (``views``), the composition
root (``headwater.main``) and the CLI that starts it; every other module is checked, a new one as
soon as it exists.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import headwater

SOURCE = Path(headwater.__file__).parent
FRAMEWORKS = ("fastapi", "starlette")

#: The services the admin API and the CLI call, and the seams they share.
SERVICES = [
    "headwater.keys.service",
    "headwater.keys.lifecycle",
    "headwater.catalog.service",
    "headwater.policies.service",
    "headwater.directory.service",
    "headwater.directory.accounts",
    "headwater.identity.access",
    "headwater.identity.provisioning",
    "headwater.resources.apply",
    "headwater.usage.history",
    "headwater.audit.record",
    "headwater.unit_of_work",
    "headwater.bootstrap",
]

#: Imports each module named in argv in turn; prints, as JSON, the first that loaded a framework
#: (and which), or null.
PROBE = """
import importlib, json, sys
frameworks = {frameworks!r}
for name in sys.argv[1:]:
    importlib.import_module(name)
    loaded = sorted(f for f in frameworks if f in sys.modules)
    if loaded:
        print(json.dumps([name, loaded]))
        break
else:
    print(json.dumps(None))
"""


def first_loading_a_framework(*modules: str) -> list[object] | None:
    """[module, [frameworks]] for the first of ``modules`` whose import loaded one, else None."""
    script = PROBE.format(frameworks=FRAMEWORKS)
    done = subprocess.run(
        [sys.executable, "-c", script, *modules], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    found: list[object] | None = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def web_layer(name: str) -> bool:
    parts = name.split(".")
    return (
        parts[1:2] in (["admin"], ["cli"], ["main"], ["__main__"])
        or parts[-1] == "views"
        or name.startswith("headwater.storage.sql.migrations")  # Alembic's scripts, run by Alembic
    )


def modules() -> list[str]:
    """Every module of the package, by its file (nothing is imported to list them)."""
    names = []
    for path in sorted(SOURCE.rglob("*.py")):
        parts = ["headwater", *path.relative_to(SOURCE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


@pytest.mark.parametrize("module", SERVICES)
def test_a_service_loads_no_web_framework(module: str) -> None:
    assert first_loading_a_framework(module) is None


def test_no_module_outside_the_web_layer_loads_a_web_framework() -> None:
    checked = [name for name in modules() if not web_layer(name)]
    assert len(checked) > 100  # the walk found the package
    assert first_loading_a_framework(*checked) is None


def test_the_probe_sees_a_framework_when_one_is_loaded() -> None:
    """The admin API's authorisation is web layer: importing it loads both (the checks above can fail)."""
    assert first_loading_a_framework("headwater.unit_of_work", "headwater.admin.access") == [
        "headwater.admin.access",
        ["fastapi", "starlette"],
    ]
