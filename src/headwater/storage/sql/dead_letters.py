"""Dead letters: events the database refused for their data, kept whole instead of retried.

One row per refused event (``kind`` is ``usage`` or ``limit events``, ``payload`` the event's
fields as JSON, ``error`` the reason without statement parameters). Nothing reads them on a hot
path; an operator inspects them with SQL and may replay them after fixing the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.storage.sql.refusals import REASON_MAX_CHARS, refusals, rows_of
from headwater.storage.sql.tables import dead_letters
from headwater.usage.events import DeadLetter


def _row(letter: DeadLetter) -> dict[str, Any]:
    return {
        "ts": datetime.fromtimestamp(letter.ts, UTC),
        "kind": letter.kind[:32],
        "payload": letter.payload,
        "error": letter.error[:REASON_MAX_CHARS],
    }


class SqlDeadLetterStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        rows = rows_of(letters, _row)
        with refusals():
            async with self._engine.begin() as conn:
                await conn.execute(dead_letters.insert(), rows)
