"""Copy a whole Headwater database into a PostgreSQL one (``headwater db copy``), then verify it.

What is promised:

- the source must be at the migrations' head; the target is migrated to that head first;
- a target that holds data (rows in Headwater's tables, or tables that are not Headwater's) is
  refused, naming what was found, unless ``force``: then Headwater's rows in it are deleted in the
  copy's transaction (tables that are not Headwater's are left alone);
- every table of :data:`headwater.storage.sql.tables.metadata` is copied, parents before children
  (``metadata.sorted_tables``: a table added later is copied without a change here), in batches, in
  ONE transaction on the target: all or nothing. PostgreSQL sequences are moved past the copied ids;
- rows are copied as they are: stored credentials stay sealed under the source's key, so the server
  on the target needs the same ``HEADWATER_SECRET_KEY``;
- then, on new connections, :func:`verify` compares the rows of every table, verifies the audit chain
  on the target (and that its head is the source's) and compares the usage totals.

Copy from a source nothing writes to (stop the server first): a row written during the copy shows
as a mismatch, never as a silent loss.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Table, delete, false, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.audit.chain import VerifyResult
from headwater.storage.sql import migrate
from headwater.storage.sql.audit import head, verify_stored
from headwater.storage.sql.database import create_engine, lock_changes
from headwater.storage.sql.tables import ROLLUPS, credentials, metadata, usage_events

#: Tables the migrations give one row (the revision, the audit head): not data of their own.
SEEDED = frozenset({"state", "audit_head"})
#: Tables Headwater's schema has besides its metadata.
BOOKKEEPING = frozenset({"alembic_version"})
BATCH = 1000
TARGET_FORM = "postgresql+asyncpg://USER[:PASSWORD]@HOST[:PORT]/DATABASE"


class CopyError(Exception):
    """The copy cannot be done as asked; the message says why and what to do. Nothing was changed
    on the target unless the message says so."""


@dataclass(frozen=True, slots=True)
class Comparison:
    what: str
    source: str
    target: str

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass(slots=True)
class Report:
    revision: str
    tables: list[Comparison] = field(default_factory=list)
    usage: list[Comparison] = field(default_factory=list)
    audit: VerifyResult | None = None
    audit_head: Comparison | None = None
    credentials: int = 0

    @property
    def problems(self) -> list[str]:
        found = [
            f"{c.what}: {c.source} rows in the source, {c.target} in the target"
            for c in self.tables
            if not c.ok
        ]
        found += [
            f"usage {c.what}: {c.source} in the source, {c.target} in the target"
            for c in self.usage
            if not c.ok
        ]
        if self.audit is not None and not self.audit.ok:
            broken = self.audit.first_broken_seq
            found.append(f"audit chain broken on the target at event {broken}: {self.audit.reason}")
        if self.audit_head is not None and not self.audit_head.ok:
            head_ = self.audit_head
            found.append(f"audit head: {head_.source} in the source, {head_.target} in the target")
        return found


def target_url(url: str) -> URL:
    """The ``--to`` URL, checked: PostgreSQL through asyncpg, naming a database."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CopyError(f"--to is not a database URL: use {TARGET_FORM}") from None
    if parsed.drivername != "postgresql+asyncpg":
        raise CopyError(
            f"--to: the target must be PostgreSQL through asyncpg ({TARGET_FORM}), not {parsed.drivername}"
        )
    if not parsed.database:
        raise CopyError(f"--to names no database: use {TARGET_FORM}")
    return parsed


def shown(url: URL | str) -> str:
    """A URL as it may be printed: never with its password."""
    return (make_url(url) if isinstance(url, str) else url).render_as_string(hide_password=True)


def reason(exc: BaseException, url: URL | None = None) -> str:
    """What went wrong, in one line, without SQL, driver class names or a password."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    message = re.sub(
        r"^<class '[\w.]+'>: ", "", str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    )
    message = message or type(cause).__name__
    if url is not None and url.password:
        message = message.replace(str(url.password), "***")
    return message


def _head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    revision = ScriptDirectory.from_config(config).get_current_head()
    assert revision is not None, "the migrations have a head"
    return revision


async def _existing_tables(conn: AsyncConnection) -> set[str]:
    return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def count_rows(conn: AsyncConnection, table: Table) -> int:
    return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def findings(conn: AsyncConnection) -> list[str]:
    """What makes the database behind ``conn`` not empty, e.g. ``api_keys: 3 rows``; [] when empty."""
    existing = await _existing_tables(conn)
    found = [f"{name}: {count} rows" for name, count in await _data_rows(conn, existing)]
    foreign = sorted(existing - set(metadata.tables) - BOOKKEEPING)
    if foreign:
        found.append(f"tables that are not Headwater's: {', '.join(foreign)}")
    return found


async def _data_rows(conn: AsyncConnection, existing: set[str]) -> list[tuple[str, int]]:
    rows = []
    for table in metadata.sorted_tables:
        if table.name in existing and table.name not in SEEDED:
            count = await count_rows(conn, table)
            if count:
                rows.append((table.name, count))
    return rows


async def _copy_table(source: AsyncConnection, target: AsyncConnection, table: Table, batch: int) -> int:
    copied = 0
    query = select(table).order_by(*table.primary_key.columns)
    result = await source.stream(query)
    async for rows in result.partitions(batch):
        await target.execute(table.insert(), [dict(row._mapping) for row in rows])
        copied += len(rows)
    return copied


async def _reset_sequences(conn: AsyncConnection) -> None:
    """Move every sequence behind a copied key (SERIAL or IDENTITY) past the largest copied value."""
    quote = conn.dialect.identifier_preparer
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            found = await conn.execute(
                select(func.pg_get_serial_sequence(quote.format_table(table), column.name))
            )
            sequence = found.scalar_one()
            if sequence:
                after = func.coalesce(func.max(column), 0) + 1
                await conn.execute(select(func.setval(sequence, after, false())).select_from(table))


async def _copy(source: AsyncConnection, target: AsyncConnection, *, force: bool, batch: int) -> None:
    """Inside the target's transaction: check it is still empty (or clear it), copy, reset sequences."""
    await lock_changes(target)  # servers already on the target wait for the copy
    found = [f"{name}: {count} rows" for name, count in await _data_rows(target, set(metadata.tables))]
    if found and not force:
        raise CopyError(_holds_data(found))
    for table in reversed(metadata.sorted_tables):
        await target.execute(delete(table))
    for table in metadata.sorted_tables:
        await _copy_table(source, target, table, batch)
    await _reset_sequences(target)


def _holds_data(found: list[str]) -> str:
    return (
        "the target database already holds data (" + "; ".join(found) + "). Nothing was copied. Copy into an "
        "empty database, or pass --force to delete Headwater's rows in it and replace them with the source's"
    )


async def usage_totals(conn: AsyncConnection) -> dict[str, str]:
    """The usage ledger's totals: events, tokens and exact cost per currency, and each rollup's."""
    c = usage_events.c
    query = select(
        func.count(),
        func.coalesce(func.sum(c.prompt_tokens), 0),
        func.coalesce(func.sum(c.completion_tokens), 0),
    )
    events, prompt, completion = (await conn.execute(query)).one()
    totals = {
        "events": str(int(events)),
        "prompt tokens": str(int(prompt)),
        "completion tokens": str(int(completion)),
    }
    cost: dict[str, Decimal] = {}
    result = await conn.stream(select(c.currency, c.cost))
    async for rows in result.partitions(BATCH):
        for currency, amount in rows:
            cost[currency] = cost.get(currency, Decimal(0)) + amount
    totals |= {
        f"cost {currency}": format(amount.normalize(), "f") for currency, amount in sorted(cost.items())
    }
    for period, rollup in ROLLUPS.items():
        r = rollup.c
        grouped = select(r.currency, func.sum(r.requests), func.sum(r.cost_units)).group_by(r.currency)
        for currency, requests, units in sorted((await conn.execute(grouped)).all()):
            totals[f"{period} rollup {currency}: requests, cost units"] = f"{int(requests)}, {int(units)}"
    return totals


def _compare(
    what: Mapping[str, str], source: Mapping[str, str], target: Mapping[str, str]
) -> list[Comparison]:
    return [Comparison(name, source.get(name, "-"), target.get(name, "-")) for name in what]


async def verify(source: AsyncConnection, target: AsyncConnection, report: Report) -> None:
    """Fill ``report`` from what the two databases hold now."""
    for table in metadata.sorted_tables:
        counts = [await count_rows(conn, table) for conn in (source, target)]
        report.tables.append(Comparison(table.name, str(counts[0]), str(counts[1])))
    report.credentials = await count_rows(target, credentials)
    report.audit, target_head = await verify_stored(target)
    source_head = await head(source)
    report.audit_head = Comparison(
        "audit head", f"{source_head[0]}:{source_head[1]}", f"{target_head[0]}:{target_head[1]}"
    )
    sums = [await usage_totals(conn) for conn in (source, target)]
    report.usage = _compare(sums[0] | sums[1], sums[0], sums[1])


def _check_source(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or not Path(path).is_file():
            raise CopyError(
                f"no SQLite database at {path or '(none)'}: "
                "set HEADWATER_DATABASE_URL (or HEADWATER_DATA_DIR)"
            )


async def _prepare(source: AsyncEngine, target: AsyncEngine, target_parsed: URL, force: bool) -> str:
    """Check both sides and migrate the target; the revision both are at."""
    wanted = _head_revision()
    try:
        at = await migrate.current(source)
    except Exception as exc:
        raise CopyError(f"cannot read the source database: {reason(exc)}") from None
    if at is None:
        raise CopyError(
            "the source database holds no Headwater schema (is HEADWATER_DATABASE_URL the right one?)"
        )
    if at != wanted:
        raise CopyError(
            f"the source database is at migration {at}, not {wanted}: run `headwater migrate` on it first"
        )
    try:
        async with target.connect() as conn:
            found = await findings(conn)
    except Exception as exc:
        raise CopyError(
            f"cannot connect to the target {shown(target_parsed)}: {reason(exc, target_parsed)}"
        ) from None
    if found and not force:
        raise CopyError(_holds_data(found))
    try:
        await migrate.upgrade(target)
    except Exception as exc:
        raise CopyError(
            f"cannot migrate the target {shown(target_parsed)}: {reason(exc, target_parsed)}"
        ) from None
    return wanted


async def copy_database(source_url: str, to: str, *, force: bool = False, batch: int = BATCH) -> Report:
    """Copy ``source_url`` into ``to`` and verify it; raises :class:`CopyError` when it cannot copy.
    A copy that was made but does not verify comes back with :attr:`Report.problems`."""
    parsed = target_url(to)
    _check_source(source_url)
    if make_url(source_url).set(password=None) == parsed.set(password=None):
        raise CopyError("the source and the target are the same database")
    source = create_engine(source_url)
    target = create_engine(to)
    try:
        report = Report(await _prepare(source, target, parsed, force))
        async with source.connect() as reading:
            if reading.dialect.name == "postgresql":
                await reading.execution_options(isolation_level="REPEATABLE READ")
            try:
                async with target.begin() as writing:
                    await _copy(reading, writing, force=force, batch=batch)
            except CopyError:
                raise
            except Exception as exc:
                raise CopyError(
                    f"the copy failed and was rolled back (the target holds what it held before, migrated): "
                    f"{reason(exc, parsed)}"
                ) from None
        async with source.connect() as before, target.connect() as after:
            await verify(before, after, report)
        return report
    finally:
        await source.dispose()
        await target.dispose()
