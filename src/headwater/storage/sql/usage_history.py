"""Usage events read back for rebuilding the limit counters (``headwater.usage.history``).

Rows are streamed (a server-side cursor on PostgreSQL), never loaded at once. Totals are summed by
PostgreSQL, whose NUMERIC sums are exact; SQLite stores money as text (its NUMERIC is a float), so
there the rows are summed here, as Decimals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.storage.sql.tables import usage_events
from headwater.usage.history import UsageRow, UsageTotal

_BATCH = 2000
_c = usage_events.c


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class SqlUsageHistory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def rows(self, since: float, until: float) -> AsyncIterator[UsageRow]:
        query = (
            select(
                _c.id,
                _c.ts,
                _c.key_id,
                _c.principal,
                _c.model,
                _c.prompt_tokens,
                _c.completion_tokens,
                _c.cost,
            )
            .where(_c.ts >= _when(since), _c.ts < _when(until))
            .execution_options(yield_per=_BATCH)
        )
        async with self._engine.connect() as conn:
            result = await conn.stream(query)
            async for row in result:
                yield UsageRow(
                    id=row.id,
                    ts=row.ts.timestamp(),
                    key_id=row.key_id,
                    principal=row.principal,
                    model=row.model,
                    prompt_tokens=row.prompt_tokens,
                    completion_tokens=row.completion_tokens,
                    cost=row.cost,
                )

    async def totals(self, since: float, until: float) -> list[UsageTotal]:
        if self._engine.dialect.name == "sqlite":
            return await self._summed_here(since, until)
        group = (_c.key_id, _c.principal, _c.model)
        query = (
            select(
                *group,
                func.count().label("calls"),
                func.sum(_c.prompt_tokens).label("prompt"),
                func.sum(_c.completion_tokens).label("completion"),
                func.sum(_c.cost).label("cost"),
            )
            .where(_c.ts >= _when(since), _c.ts < _when(until))
            .group_by(*group)
        )
        async with self._engine.connect() as conn:
            result = await conn.execute(query)
            return [
                UsageTotal(
                    row.key_id,
                    row.principal,
                    row.model,
                    int(row.calls),
                    int(row.prompt),
                    int(row.completion),
                    Decimal(row.cost),
                )
                for row in result
            ]

    async def _summed_here(self, since: float, until: float) -> list[UsageTotal]:
        sums: defaultdict[tuple[str, str, str], list[int | Decimal]] = defaultdict(
            lambda: [0, 0, 0, Decimal(0)]
        )
        async for row in self.rows(since, until):
            found = sums[(row.key_id, row.principal, row.model)]
            found[0] += 1
            found[1] += row.prompt_tokens
            found[2] += row.completion_tokens
            found[3] += row.cost
        return [
            UsageTotal(key_id, principal, model, int(calls), int(prompt), int(completion), Decimal(cost))
            for (key_id, principal, model), (calls, prompt, completion, cost) in sums.items()
        ]
