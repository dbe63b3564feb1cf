"""What `headwater serve` keeps out of its process (issue 16: RSS per worker): Alembic migrates in a
forked child, and the packages that only some configurations or commands need are imported lazily."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from headwater.cli.migrate_apart import migrate_apart
from headwater.settings import Settings
from headwater.storage.sql import migrate
from headwater.storage.sql.database import create_engine

#: Imported only where needed: each is megabytes resident in every serving process otherwise.
LAZY = ("alembic", "mako", "authlib", "httpx", "rich", "pygments", "botocore.auth", "websockets")

SERVE_IMPORTS = """
import json, sys
import headwater.cli.app, headwater.main, headwater.serving.config
print(json.dumps(sorted(name for name in sys.argv[1:] if name in sys.modules)))
"""

MIGRATE_APART = """
import asyncio, json, sys
from headwater.bootstrap import prepare
from headwater.cli.migrate_apart import migrate_apart
from headwater.settings import Settings
from headwater.storage.sql import migrate
from headwater.storage.sql.database import create_engine

settings = Settings(database_url=sys.argv[1], auto_migrate=True)

async def prepared() -> bool:
    engine = create_engine(settings.resolved_database_url)
    try:
        await prepare(engine, settings)
        return await migrate.at_head(engine)
    finally:
        await engine.dispose()

forked = migrate_apart(settings)  # as `headwater serve` does: before any event loop or thread runs
print(json.dumps([forked, asyncio.run(prepared()), "alembic" in sys.modules]))
"""


FAILING = """
import json, sys
from headwater.cli.migrate_apart import MigrationFailed, migrate_apart
from headwater.settings import Settings

try:
    migrate_apart(Settings(database_url=sys.argv[1]))
except MigrationFailed as exc:
    print(json.dumps([type(exc).__name__, "file is not a database" in str(exc)]))
"""


def _run(script: str, *args: str) -> object:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_serving_process_imports_none_of_the_lazy_packages() -> None:
    assert _run(SERVE_IMPORTS, *LAZY) == []


def test_head_read_without_alembic_is_alembics() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    assert migrate.head() == ScriptDirectory.from_config(config).get_current_head()


def test_a_new_database_is_migrated_in_a_child_and_alembic_stays_out(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hw.db'}"
    # migrated by the child, at head after: prepare() then skips Alembic
    assert _run(MIGRATE_APART, url) == [True, True, False]
    assert _run(MIGRATE_APART, url) == [True, True, False]  # a restart: nothing to do


def test_at_head_is_false_for_an_older_revision(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool, bool]:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hw.db'}")
        try:
            await migrate.upgrade(engine, "0005")
            older = await migrate.at_head(engine)
            await migrate.upgrade(engine)
            return older, await migrate.at_head(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(scenario()) == (False, True)


def test_a_failed_migration_raises_the_childs_error(tmp_path: Path) -> None:
    (tmp_path / "hw.db").write_bytes(b"not a database" * 100)
    url = f"sqlite+aiosqlite:///{tmp_path / 'hw.db'}"
    assert _run(FAILING, url) == ["MigrationFailed", True]


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"])
def test_a_database_in_memory_is_migrated_in_this_process(url: str) -> None:
    assert migrate_apart(Settings(database_url=url)) is False
