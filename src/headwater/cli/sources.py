"""Reading resource documents for ``apply``, ``diff``: a file, ``-`` (standard input) or a directory.

A directory means every ``*.yaml`` and ``*.yml`` file under it, recursively, in the order of their
paths. Each document keeps where it came from, so that every error names the file and the
document's number in that file (1-based), never an index into the documents of all files.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from headwater.cli.client import CliError
from headwater.resources.documents import parse

_SUFFIXES = (".yaml", ".yml")
_DUPLICATE = re.compile(r"^duplicate of document (\d+)$")
_SERVER_LOC = re.compile(r"\bdocuments\.(\d+)(\.)?")


@dataclass
class Loaded:
    """The documents read from what ``-f`` named, and where each came from."""

    source: str
    documents: list[Any] = field(default_factory=list)
    origins: list[tuple[str, int]] = field(default_factory=list)  # (file, 1-based number in it)

    def where(self, index: int) -> str:
        """``path: document N`` for the document at ``index`` among all of them."""
        path, number = self.origins[index]
        return f"{path}: document {number}"

    def located(self, message: str) -> str:
        """A server's message naming ``documents.N...``, naming the file and document instead."""

        def name(match: re.Match[str]) -> str:
            index = int(match.group(1))
            if index >= len(self.origins):
                return match.group(0)
            return self.where(index) + (": " if match.group(2) else "")

        located = _SERVER_LOC.sub(name, message)
        return located if located != message else f"{self.source}: {message}"


def _files(directory: Path) -> list[Path]:
    found = [path for path in directory.rglob("*") if path.suffix in _SUFFIXES and path.is_file()]
    return sorted(found, key=lambda path: path.relative_to(directory).as_posix())


def _read(path: str, text_of: Path | None) -> str:
    try:
        return sys.stdin.read() if text_of is None else text_of.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"{path}: cannot be read: {reason}") from None


def _add(loaded: Loaded, path: str, text: str) -> None:
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise CliError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
    for number, document in enumerate(documents, start=1):
        loaded.documents.append(document)
        loaded.origins.append((path, number))


def load(source: str) -> Loaded:
    """Every non-empty document of a file, of standard input (``-``) or of a directory's YAML files;
    none at all is an error (it would mean: nothing is wanted)."""
    loaded = Loaded(source)
    if source == "-":
        _add(loaded, "-", _read("-", None))
    else:
        path = Path(source)
        if path.is_dir():
            files = _files(path)
            if not files:
                raise CliError(f"{source}: no *.yaml or *.yml files in this directory")
            for file in files:
                _add(loaded, str(file), _read(str(file), file))
        else:
            _add(loaded, source, _read(source, path))
    if not loaded.documents:
        raise CliError(f"{source}: no documents")
    return loaded


def validate(loaded: Loaded) -> None:
    """Every error of every document at once, each naming its file, document and field."""
    problems = parse(loaded.documents).errors
    if not problems:
        return
    lines = []
    for problem in problems:
        what = loaded.where(problem.index) + (f" ({problem.label})" if problem.label else "")
        where = f": {problem.path()}" if problem.loc else ""
        message = problem.message
        if duplicate := _DUPLICATE.match(message):
            message = f"duplicate of {loaded.where(int(duplicate.group(1)) - 1)}"
        lines.append(f"{what}{where}: {message}")
    raise CliError("\n".join(lines))


def warning_line(loaded: Loaded, warning: dict[str, Any]) -> str:
    """A server's deprecation warning (``document N (...): ...``), naming the file and document."""
    loc = warning.get("loc") or []
    message = str(warning.get("message", ""))
    if len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(loaded.origins):
        path, number = loaded.origins[loc[1]]
        return f"{path}: " + re.sub(r"^document \d+", f"document {number}", message)
    return f"{loaded.source}: {message}"
