"""The unit of work: every change to a resource goes through one, and gets its audit entry there.

A change is a function of a :class:`UnitOfWork`, run by :func:`perform` (or, for the usual change of
one resource, :func:`perform_change`). It sits at the top of the package, not in ``audit/``, because
it joins three things the services used to join by hand: the transaction (the control plane's
engine), the audit trail and the revision that tells gateways to reload. :func:`perform`:

1. opens a transaction and takes the change lock first (:func:`~headwater.storage.sql.database.lock_changes`):
   changes run one at a time, across processes, and every read in one sees what the previous one
   committed, so an entry's ``before`` is the state the change replaced, never a stale read;
2. runs the work, watching every statement on its connection: one that inserts, updates or deletes
   rows is a write;
3. refuses to commit writes that no entry describes: :class:`UnrecordedChange`, and everything is
   rolled back (a change that writes no entry must say why, :meth:`UnitOfWork.allow_unrecorded`);
4. appends the entries to the chain (:func:`~headwater.audit.record.record`), bumps the revision
   when something was written, commits, and then signals the change (``ControlPlane.changed``).

An exception anywhere rolls everything back: no row, no entry, no revision, no signal. A dry run
does all the work and rolls it back, so its checks are exactly those of the real change. A change
that lost a race on a unique key to a writer outside the lock is run again (``ControlPlane.retried``).

:meth:`UnitOfWork.change` is the routine every service used to write out: read the resource, write,
read it again, and record ``<type>.create``, ``.update`` or ``.delete`` (or the action given) when
the write changed rows, with the entry placed before any the write itself recorded.
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncConnection

from headwater.audit.record import Entry, Origin, change, record
from headwater.control import ControlPlane
from headwater.storage.sql.database import bump_revision, lock_changes

T = TypeVar("T")
S = TypeVar("S")
State = Mapping[str, Any] | BaseModel

#: Statements that change the database, by their first word (for textual SQL; compiled statements
#: say so themselves).
_WRITES = frozenset(
    {"INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT", "TRUNCATE", "CREATE", "ALTER", "DROP"}
)
_INSIDE: contextvars.ContextVar[bool] = contextvars.ContextVar("headwater_unit_of_work", default=False)


class UnrecordedChange(RuntimeError):
    """A change wrote to the database without recording an audit entry; it was rolled back."""


def _as_is(value: Any) -> State:
    state: State = value
    return state


@dataclass(frozen=True, slots=True)
class Tracked(Generic[S]):
    """A kind of resource whose changes are recorded: its audit target type, how one is read by its
    id, and what the trail keeps of it (by default the object itself, a model or a mapping)."""

    target_type: str
    read: Callable[[AsyncConnection, str], Awaitable[S | None]]
    state: Callable[[S], State] = _as_is

    def entry(
        self,
        target_id: str,
        before: S | None,
        after: S | None,
        *,
        action: str | None = None,
        detail: str | None = None,
    ) -> Entry:
        """``<type>.create``, ``.update`` or ``.delete`` (told apart by the states), or ``action``."""
        made = change(
            self.target_type,
            target_id,
            None if before is None else self.state(before),
            None if after is None else self.state(after),
            detail,
        )
        return made if action is None else dataclasses.replace(made, action=action)


class UnitOfWork:
    """One change in progress: read and write through :attr:`conn`; record what changed."""

    def __init__(self, conn: AsyncConnection, origin: Origin) -> None:
        self.conn = conn
        #: Who made the change, and from where; the work may name them once it knows (a user
        #: created by their own first call is the actor of their creation).
        self.origin = origin
        self._entries: list[Entry] = []
        self._writes = 0
        self._unrecorded: str | None = None

    @property
    def wrote(self) -> bool:
        """Whether a statement of this unit changed rows."""
        return self._writes > 0

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries)

    def record(self, *entries: Entry) -> None:
        """Entries for the audit trail, appended in this order when the unit commits."""
        self._entries.extend(entries)

    def allow_unrecorded(self, reason: str) -> None:
        """Lets this unit commit writes that no entry describes: bookkeeping nobody changed by
        decision (the time of a sign-in, itself recorded as ``user.sign_in``). Say why in ``reason``."""
        if not reason.strip():
            raise ValueError("say why this change writes without an audit entry")
        self._unrecorded = reason

    async def change(
        self,
        tracked: Tracked[S],
        target_id: str,
        write: Write[S],
        *,
        action: str | None = None,
        detail: str | None = None,
    ) -> S | None:
        """Reads the resource, lets ``write`` change it (it gets the state before, to check it), reads
        it again and records the entry when rows changed. The resource as it is after, or None."""
        before = await tracked.read(self.conn, target_id)
        position, writes = len(self._entries), self._writes
        await write(self, before)
        after = await tracked.read(self.conn, target_id)
        if self._writes != writes or after != before:
            entry = tracked.entry(target_id, before, after, action=action, detail=detail)
            self._entries.insert(position, entry)
        return after

    def _observe(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        if cursor.rowcount != 0 and _is_write(context, statement):
            self._writes += 1

    def _check(self) -> None:
        if self.wrote and not self._entries and self._unrecorded is None:
            raise UnrecordedChange(
                "a change wrote to the database without an audit entry; it was rolled back "
                "(record one with UnitOfWork.record or .change)"
            )


#: What changes one resource: it gets the unit and the resource as it was (None: not there yet).
Write = Callable[[UnitOfWork, S | None], Awaitable[None]]


def _is_write(context: ExecutionContext | None, statement: str) -> bool:
    if context is not None and (context.isinsert or context.isupdate or getattr(context, "isdelete", False)):
        return True
    words = statement.lstrip().split(None, 1)
    return bool(words) and words[0].upper() in _WRITES


async def perform(
    cp: ControlPlane, origin: Origin, work: Callable[[UnitOfWork], Awaitable[T]], *, dry_run: bool = False
) -> T:
    """Runs ``work`` as one change by ``origin`` (see the module's docstring); what it returns."""
    result, changed = await cp.retried(lambda: _once(cp, origin, work, dry_run))
    if changed:
        await cp.changed()
    return result


async def perform_change(
    cp: ControlPlane,
    origin: Origin,
    tracked: Tracked[S],
    target_id: str,
    write: Write[S],
    *,
    action: str | None = None,
    detail: str | None = None,
) -> S | None:
    """One resource changed by ``write`` (:meth:`UnitOfWork.change`) in a unit of its own."""
    return await perform(
        cp, origin, lambda unit: unit.change(tracked, target_id, write, action=action, detail=detail)
    )


async def _once(
    cp: ControlPlane, origin: Origin, work: Callable[[UnitOfWork], Awaitable[T]], dry_run: bool
) -> tuple[T, bool]:
    """One attempt, in one transaction: the work's result, and whether a write was committed."""
    if _INSIDE.get():
        raise RuntimeError(
            "a unit of work cannot start inside another (it would wait for its lock): pass the unit"
        )
    inside = _INSIDE.set(True)
    try:
        async with cp.engine.connect() as conn:
            transaction = await conn.begin()
            try:
                await lock_changes(conn)
                unit = UnitOfWork(conn, origin)
                result = await _watched(conn, unit, work)
                unit._check()  # a dry run too: it fails exactly where the change would
                if dry_run or not (unit.wrote or unit.entries):
                    await transaction.rollback()
                    return result, False
                await record(conn, unit.origin, *unit.entries)
                if unit.wrote:
                    await bump_revision(conn, ((e.target_type, e.target_id) for e in unit.entries))
                await transaction.commit()
            except BaseException:
                if transaction.is_active:
                    await transaction.rollback()
                raise
        return result, unit.wrote
    finally:
        _INSIDE.reset(inside)


async def _watched(conn: AsyncConnection, unit: UnitOfWork, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Runs ``work``, counting the statements on ``conn`` that changed rows."""
    sync = conn.sync_connection
    assert sync is not None  # a connected AsyncConnection
    event.listen(sync, "after_cursor_execute", unit._observe)
    try:
        return await work(unit)
    finally:
        event.remove(sync, "after_cursor_execute", unit._observe)
