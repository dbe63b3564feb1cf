"""NUL characters in admin input are refused where they come in, naming where they are.

PostgreSQL's text types cannot hold U+0000 (SQLite can), so a name, description or filter that
carries one would fail in the database, as a 500, on one backend only. Nothing an admin enters
needs one: the gate answers 422 before any route runs, with ``loc`` naming the place (``["path"]``,
``["query", NAME]`` or ``["body", ...]`` down to the field).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Scope

NUL = "\x00"
MESSAGE = "must not contain NUL characters (U+0000)"


def _where(value: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """The path of the first string (a key or a value) holding a NUL, depth first."""
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(value, path)]
    while pending:
        current, at = pending.pop()
        if isinstance(current, str):
            if NUL in current:
                return at
        elif isinstance(current, dict):
            for key, item in reversed(list(current.items())):
                if NUL in key:
                    return (*at, key.replace(NUL, "\\u0000"))
                pending.append((item, (*at, key)))
        elif isinstance(current, list):
            pending.extend((item, (*at, index)) for index, item in reversed(list(enumerate(current))))
    return None


def in_request_line(scope: Scope) -> list[str | int] | None:
    """``["path"]`` or ``["query", NAME]`` when the path or a query parameter holds a NUL."""
    if NUL in scope["path"]:
        return ["path"]
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if NUL in name or NUL in value:
                return ["query", name.replace(NUL, "\\u0000")]
    return None


def in_json_body(body: bytes) -> list[str | int] | None:
    """``["body", ...]`` down to the first field whose text holds an escaped NUL (``\\u0000``)."""
    if b"\\u0000" not in body:  # a JSON text can carry a NUL only escaped: nothing to parse
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON: the route answers for it
    found = _where(document, ())
    return ["body", *found] if found is not None else None
