"""The database check: reachable, and at the head of this version's migrations.

Nothing is created: an embedded SQLite file that does not exist is reported, never made (opening
it would create it), and no migration is run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.doctor.report import Check, error, ok, redact_url
from headwater.storage.sql import migrate

NAME = "database"
_REACH_FIX = (
    "check HEADWATER_DATABASE_URL (host, port, user, database name) and that the database server runs "
    "and accepts connections from this host"
)
_MIGRATE_FIX = "run `headwater migrate` (or start `headwater serve` with HEADWATER_AUTO_MIGRATE=true)"
_MAX_REASON_CHARS = 200


def shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return redact_url(url)


def missing_file(url: str) -> Check | None:
    """The error of an SQLite URL whose file does not exist yet (checked without opening it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    if path.is_file():
        return None
    return error(NAME, f"{shown(url)}: no database file at {path}", f"{_MIGRATE_FIX}: it creates the file")


def _revisions() -> tuple[set[str], set[str]]:
    """This version's head revisions and every revision it knows."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    return set(script.get_heads()), {revision.revision for revision in script.walk_revisions()}


def _reason(exc: BaseException) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = " ".join(str(cause).split()) or type(cause).__name__
    return text[:_MAX_REASON_CHARS]


async def check(engine: AsyncEngine, url: str, timeout_s: float) -> Check:
    where = shown(url)
    try:
        async with asyncio.timeout(timeout_s):
            current = await migrate.current(engine)
    except TimeoutError:
        return error(NAME, f"{where}: no answer within {timeout_s:g} s", _REACH_FIX)
    except Exception as exc:
        return error(NAME, f"{where}: cannot connect ({_reason(exc)})", _REACH_FIX)
    heads, known = _revisions()
    head = ", ".join(sorted(heads))
    if current in heads:
        return ok(NAME, f"{where}: reachable, at the migration head ({head})")
    if current is None:
        return error(
            NAME, f"{where}: reachable, but no migration has been applied (an empty database)", _MIGRATE_FIX
        )
    if current in known:
        return error(NAME, f"{where}: at revision {current}, behind the head ({head})", _MIGRATE_FIX)
    return error(
        NAME,
        f"{where}: at revision {current}, which this version of Headwater does not know (a newer one "
        "migrated it)",
        "run the Headwater version that migrated this database, or a newer one",
    )
