"""Helpers of the GitOps tests: the configuration revision, the audit trail, files of documents."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml

from headwater.storage.sql.database import create_engine, current_revision
from tests.support import Server, cli


def revision(server: Server) -> int:
    async def read() -> int:
        engine = create_engine(server.database_url)
        try:
            async with engine.connect() as conn:
                return await current_revision(conn)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def audit(server: Server, target: str) -> list[dict[str, Any]]:
    with server.admin() as admin:
        found = admin.get("/audit/events", params={"target": target, "order": "asc", "limit": 200})
        found.raise_for_status()
        items: list[dict[str, Any]] = found.json()["items"]
        return items


def write(path: Path, *documents: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(list(documents), sort_keys=False))
    return path


def run(server: Server, *args: str, input: str | None = None) -> tuple[int, str, str]:
    done = cli(*args, env=server.cli_env(), input=input)
    return done.returncode, done.stdout, done.stderr


def exists(server: Server, path: str) -> bool:
    with server.admin() as admin:
        status = admin.get(path).status_code
    assert status in (200, 404), status
    return status == 200
