"""The usage journal check: its directory is (or can be made) a writable directory with room.

Only looked at, never written: the directory is the one the server would use (one per database,
:func:`headwater.usage.journal.journal_directory`); when it does not exist yet, its nearest existing
parent must let it be made.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from headwater.doctor.report import Check, error, ok, warning
from headwater.settings import Settings
from headwater.usage.journal import SEGMENT_BYTES
from headwater.usage.journal_files import journal_directory

NAME = "usage journal"
_FIX = "set HEADWATER_USAGE_JOURNAL_DIR to a writable directory (a volume of its own in a container)"


def _existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists."""
    while not os.path.lexists(path) and path.parent != path:
        path = path.parent
    return path


def check(settings: Settings) -> Check:
    directory = journal_directory(settings.resolved_usage_journal_dir, settings.resolved_database_url)
    found = _existing(directory.absolute())
    if not found.is_dir():
        return error(NAME, f"{directory}: {found} is not a directory", _FIX)
    if not os.access(found, os.W_OK | os.X_OK):
        return error(NAME, f"{directory}: {found} is not writable by this user (uid {os.getuid()})", _FIX)
    state = "writable" if found == directory.absolute() else "can be created"
    free = shutil.disk_usage(found).free
    if free < 2 * SEGMENT_BYTES:
        return warning(
            NAME,
            f"{directory}: {state}, but only {free // (1024 * 1024)} MiB free (a segment takes "
            f"{SEGMENT_BYTES // (1024 * 1024)} MiB)",
            "give the journal's filesystem more room",
        )
    return ok(NAME, f"{directory}: {state}, {free // (1024 * 1024)} MiB free")
