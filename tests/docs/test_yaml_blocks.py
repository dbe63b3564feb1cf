"""Every resource the documentation shows is valid as written, in the current (camelCase) style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from headwater.resources.documents import parse

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
_BLOCK = re.compile(r"^```ya?ml\n(.*?)^```", re.S | re.M)


def resource_blocks() -> list[tuple[str, str]]:
    """(where, text) of every YAML block holding a resource document, and the example file."""
    blocks = []
    for source in SOURCES:
        text = source.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            if "apiVersion: headwater/v1" in match.group(1):
                line = text.count("\n", 0, match.start()) + 1
                blocks.append((f"{source.relative_to(ROOT)}:{line}", match.group(1)))
    example = ROOT / "deploy" / "examples" / "resources.yaml"
    blocks.append((str(example.relative_to(ROOT)), example.read_text(encoding="utf-8")))
    return blocks


BLOCKS = resource_blocks()


def test_the_resource_docs_show_resources() -> None:
    shown = {where.split(":")[0] for where, _ in BLOCKS}
    assert {"docs/resources.md", "docs/policies.md", "deploy/examples/resources.yaml"} <= shown


@pytest.mark.parametrize(("where", "text"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_every_resource_block_is_valid_without_deprecations(where: str, text: str) -> None:
    documents = [document for document in yaml.safe_load_all(text) if document is not None]
    parsed = parse(documents)
    assert parsed.resources
    assert [(error.index, error.path(), error.message) for error in parsed.errors] == []
    assert [warning.message for warning in parsed.warnings] == []
