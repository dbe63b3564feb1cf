"""The built console is code-split by route: index.html loads one entry script, every page of
ui/src/app/routes.tsx is a chunk of its own loaded when first opened, and the first load stays small.
Reads the build's files (src/headwater/console, Vite's manifest); starts nothing."""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

ROUTES = Path(__file__).resolve().parents[2] / "ui" / "src" / "app" / "routes.tsx"
#: The first load (entry chunk, its static imports, their CSS), gzip-compressed. Measured at about
#: 245 KiB with PatternFly's stylesheet (the larger part) and React; a page's code must not creep in.
FIRST_LOAD_GZIP_BOUND = 400 * 1024


class Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))


def manifest(console: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((console / ".vite" / "manifest.json").read_text())
    return loaded


def static_closure(chunks: dict[str, Any], key: str) -> list[str]:
    """The chunk ``key`` and every chunk it imports statically, transitively."""
    seen: list[str] = []
    pending = [key]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.append(current)
            pending += chunks[current].get("imports", [])
    return seen


def route_sources() -> set[str]:
    """The modules routes.tsx loads lazily, as Vite's manifest names them (src/keys/KeysPage.tsx)."""
    imports = re.findall(r"import\('\.\./([^']+)'\)", ROUTES.read_text())
    assert imports, "routes.tsx declares no lazily loaded page"
    return {f"src/{path}.tsx" for path in imports}


def test_index_html_loads_one_entry_script(built_console: Path) -> None:
    parser = Scripts()
    parser.feed((built_console / "index.html").read_text())
    assert len(parser.scripts) == 1, parser.scripts
    (script,) = parser.scripts
    assert script.get("type") == "module"
    assert script.get("src") == "/" + manifest(built_console)["index.html"]["file"]


def test_every_route_page_is_a_chunk_of_its_own(built_console: Path) -> None:
    chunks = manifest(built_console)
    dynamic = {key for key, chunk in chunks.items() if chunk.get("isDynamicEntry")}
    assert len(dynamic) >= 10, sorted(dynamic)
    pages = route_sources()
    assert pages <= dynamic, f"route pages not split out: {sorted(pages - dynamic)}"
    first_load = static_closure(chunks, "index.html")
    assert not pages & set(first_load), f"route pages in the first load: {sorted(pages & set(first_load))}"


def test_the_first_load_is_small(built_console: Path) -> None:
    chunks = manifest(built_console)
    files: list[str] = []
    for key in static_closure(chunks, "index.html"):
        files += [chunks[key]["file"], *chunks[key].get("css", [])]
    raw = packed = 0
    for name in dict.fromkeys(files):
        data = (built_console / name).read_bytes()
        raw += len(data)
        packed += len(gzip.compress(data, compresslevel=9))
    lazy = sum(1 for chunk in chunks.values() if chunk.get("isDynamicEntry"))
    print(
        f"\nconsole first load: {len(set(files))} files, {raw / 1024:.1f} KiB raw, "
        f"{packed / 1024:.1f} KiB gzip; {lazy} route chunks loaded lazily"
    )
    assert packed < FIRST_LOAD_GZIP_BOUND, f"first load {packed / 1024:.1f} KiB gzip"
