"""The documentation stays true: the OpenAPI snapshot, every setting, the README's two commands."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from headwater.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_openapi_snapshot_is_current() -> None:
    spec = importlib.util.spec_from_file_location("openapi_script", ROOT / "scripts" / "openapi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "openapi.json").read_text() == module.render(), "run `make openapi`"


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"`HEADWATER_{name.upper()}`" in text, name


def test_readme_quick_start_has_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make run", "make test"]
