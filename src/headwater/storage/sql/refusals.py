"""Which failures of a write are the data's fault, and how to say so without the data.

A batch of events can fail for two reasons. The database may be down, unreachable, locked or
restarting: the same batch will succeed later, so it is retried. Or a value in it is one the
database refuses (an integer past a column's range, a string too long, a NUL character, a NaN in a
NOT NULL column on SQLite): the same batch would be refused for ever. :func:`refusals` turns the
second kind into :class:`headwater.usage.events.RejectedEvents` and lets the first pass unchanged,
so the usage writer can isolate the bad event without knowing SQLAlchemy.

What counts as the data's fault:

- SQLAlchemy's ``DataError`` and ``IntegrityError`` (``sqlite3``'s own, where a batch is written
  without SQLAlchemy: :mod:`headwater.storage.sql.sqlite_thread`), and any driver error whose SQLSTATE is of
  class 22 (data exception) or 23 (integrity constraint violation): PostgreSQL's own, and asyncpg's
  client-side encoding errors, which SQLAlchemy reports as a generic ``DBAPIError``;
- a ``ValueError``, ``TypeError`` or ``ArithmeticError`` (``OverflowError``, ``UnicodeEncodeError``)
  raised while binding a value, by SQLAlchemy's bind processors or by ``sqlite3`` (an integer past
  64 bits);
- anything raised while turning an event into a row (:func:`rows_of`): no database is involved.

Everything else (``OperationalError``, ``InterfaceError``, an invalidated connection, ``OSError``,
timeouts, and anything unknown) is the database's: retried, never dead-lettered.

The reason kept is the driver's one-line message without the statement or its parameters; asyncpg's
"invalid input for query argument $N: VALUE (...)" loses its value.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from headwater.usage.events import RejectedEvents

E = TypeVar("E")
R = TypeVar("R")

_DATA_SQLSTATE_CLASSES = frozenset({"22", "23"})
_VALUE_ERRORS = (ValueError, TypeError, ArithmeticError)
_QUERY_ARGUMENT = re.compile(r"^(invalid input for query argument \$\d+):")
REASON_MAX_CHARS = 300


def is_data_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError):  # sqlite_thread.py: no SQLAlchemy
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return False
        if isinstance(exc, DataError | IntegrityError):
            return True
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(state, str) and state[:2] in _DATA_SQLSTATE_CLASSES
    if isinstance(exc, StatementError):  # a bind processor refused a value before the driver ran
        return isinstance(exc.orig, _VALUE_ERRORS)
    return isinstance(exc, _VALUE_ERRORS)


def reason(exc: BaseException) -> str:
    """``ExceptionName: first line of the message``, without statement, parameters or values."""
    cause: BaseException = exc
    if isinstance(exc, StatementError) and exc.orig is not None:
        cause = exc.orig
        if cause.__cause__ is not None:  # asyncpg's own exception under SQLAlchemy's adapter
            cause = cause.__cause__
    message = str(cause.args[0]) if cause.args else str(cause)
    line = message.strip().splitlines()[0] if message.strip() else ""
    argument = _QUERY_ARGUMENT.match(line)
    if argument:
        innermost = cause.__cause__ or cause.__context__
        line = f"{argument.group(1)}: {type(innermost).__name__ if innermost else 'invalid value'}"
    return f"{type(cause).__name__}: {line}"[:REASON_MAX_CHARS]


@contextmanager
def refusals() -> Iterator[None]:
    """Around a write: data errors become :class:`RejectedEvents`, other failures pass unchanged."""
    try:
        yield
    except RejectedEvents:
        raise
    except Exception as exc:
        if is_data_error(exc):
            raise RejectedEvents(reason(exc)) from None
        raise


def rows_of(events: Iterable[E], row: Callable[[E], R]) -> list[R]:
    """The rows of a batch; an event that cannot become a row (no database involved) is the data's
    fault whatever it raised (``datetime.fromtimestamp`` may raise ``OSError`` for a huge time)."""
    try:
        return [row(event) for event in events]
    except Exception as exc:
        raise RejectedEvents(reason(exc)) from None
