"""``headwater serve`` migrates in a forked child, so that the serving process never imports Alembic.

Alembic and Mako stay resident once imported (~10 MB): with one worker the process that migrates at
start-up is the one that serves, and with several it is their supervisor. A child forked before
anything runs (no event loop, no thread) upgrades the database and exits; its error, if any, comes
back through a pipe and is raised here. Where a child cannot share the database (SQLite in memory),
where there is no ``fork`` or where a thread already runs, the upgrade runs in this process as before.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading

from sqlalchemy.engine import make_url

from headwater.settings import Settings

_MAX_MESSAGE = 4096


class MigrationFailed(RuntimeError):
    """The child's migration failed: the message is its error's."""


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    if not parsed.get_backend_name().startswith("sqlite"):
        return False
    return parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"


async def _upgrade(url: str) -> None:
    from headwater.storage.sql import migrate
    from headwater.storage.sql.database import create_engine

    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def migrate_apart(settings: Settings) -> bool:
    """Upgrade the database to the head in a forked child; False where it must run in this process
    (then :func:`headwater.bootstrap.prepare` does it). Raises :class:`MigrationFailed`."""
    url = settings.resolved_database_url
    if not hasattr(os, "fork") or threading.active_count() > 1 or _in_memory(url):
        return False
    read, write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read)
        code = 0
        try:
            asyncio.run(_upgrade(url))
        except BaseException as exc:  # every failure, KeyboardInterrupt too, goes back to the parent
            os.write(write, (str(exc) or type(exc).__name__).encode()[:_MAX_MESSAGE])
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise MigrationFailed(message or f"the migrating process ended with status {code}")
    return True
