"""Time ranges of usage queries: named ranges, report periods, steps, and the pieces a range is
answered from.

A range ``[start, end)`` is split into :class:`Piece` s, each answered from one source: the raw
events for the partial hours at its edges, the hourly rollup for whole hours, the daily one for
whole days and the monthly one for whole months (:func:`pieces`), never coarser than the query
allows (a key's, a user's or a tenant's usage is only in the hourly rollup; a time series step
bounds the grain too). Every instant is UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal

from headwater.usage.rollup import Grain, truncate

Source = Literal["raw", "hour", "day", "month"]
RangeName = Literal["1h", "24h", "7d", "30d", "1y"]
Step = Literal["5m", "1h", "1d"]

RANGES: Final[dict[str, timedelta]] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "1y": timedelta(days=365),
}
STEPS: Final[dict[str, timedelta]] = {
    "5m": timedelta(minutes=5),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}
#: The coarsest rollup a step may read (5m: the raw events only).
STEP_GRAIN: Final[dict[str, Grain | None]] = {"5m": None, "1h": "hour", "1d": "day"}
#: The most points one time series answers.
MAX_POINTS: Final = 2000
DEFAULT_RANGE: Final = "24h"
#: Raw events are kept this long unless configured (HEADWATER_USAGE_RETENTION_DAYS).
DEFAULT_RETENTION_DAYS: Final = 90

_ORDER: Final[dict[Grain | None, int]] = {None: 0, "hour": 1, "day": 2, "month": 3}


class RangeError(ValueError):
    """A range, period or step that cannot be answered; ``field`` is the query parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Piece:
    source: Source
    start: datetime
    end: datetime


def finer(a: Grain | None, b: Grain | None) -> Grain | None:
    return a if _ORDER[a] <= _ORDER[b] else b


def resolve(
    now: datetime,
    range_: str | None,
    start: datetime | None,
    end: datetime | None,
    default: str | None = DEFAULT_RANGE,
) -> tuple[datetime, datetime]:
    """``[from, to)`` from a named range or ``from``/``to`` (``to`` defaults to now)."""
    if range_ is not None and start is not None:
        raise RangeError("range", "give range or from, not both")
    end = end if end is not None else now
    if start is None:
        name = range_ or default
        if name is None:
            raise RangeError("from", "give from (and to), or a period")
        try:
            start = end - RANGES[name]
        except OverflowError:
            raise RangeError("to", "is too early for that range") from None
    if start > end:
        raise RangeError("from", "must not be after to")
    return start, end


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
PERIOD_FORMATS: Final = "a month (2026-11), an ISO week (2026-W47) or a day (2026-11-05)"


def period(text: str) -> tuple[datetime, datetime]:
    """A report period's ``[from, to)`` in UTC."""
    try:
        if match := _MONTH.match(text):
            year, month = int(match[1]), int(match[2])
            first = datetime(year, month, 1, tzinfo=UTC)
            return first, _next_month(first)
        if match := _WEEK.match(text):
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
            start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
            return start, start + timedelta(days=7)
        if match := _DAY.match(text):
            start = datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
            return start, start + timedelta(days=1)
    except (ValueError, OverflowError):
        pass
    raise RangeError("period", f"must be {PERIOD_FORMATS}")


def default_step(start: datetime, end: datetime, raw_kept_from: datetime) -> Step:
    span = end - start
    if span <= timedelta(hours=6) and start >= raw_kept_from:
        return "5m"
    return "1h" if span <= timedelta(days=8) else "1d"


def bin_of(moment: datetime, step: str) -> datetime:
    """The start of the step ``moment`` falls in (5 minutes, hours and days of UTC)."""
    if step == "5m":
        seconds = int(moment.timestamp())
        return datetime.fromtimestamp(seconds - seconds % 300, UTC)
    return truncate(moment, "hour" if step == "1h" else "day")


def bins(start: datetime, end: datetime, step: str) -> list[datetime]:
    """Every step from the one holding ``start`` to the last one before ``end``."""
    width = STEPS[step]
    found: list[datetime] = []
    current = bin_of(start, step)
    while current < end:
        found.append(current)
        current += width
    return found


def point_count(start: datetime, end: datetime, step: str) -> int:
    if end <= start:
        return 0
    first = bin_of(start, step)
    width = STEPS[step]
    return -(-(end - first) // width)


def raw_kept_from(now: datetime, retention_days: int) -> datetime:
    """The oldest instant whose raw events are still kept (retention prunes whole hours)."""
    return truncate(now - timedelta(days=retention_days), "hour")


def outside_raw(start: datetime, end: datetime, kept_from: datetime) -> tuple[datetime, datetime]:
    """A range whose raw edges lie before ``kept_from`` widened to whole hours, so that those edges
    are read from the hourly rollup (the raw events are gone)."""
    if start < kept_from:
        start = truncate(start, "hour")
    if end < kept_from:
        end = _ceil(end, "hour")
    return start, end


def _next_month(moment: datetime) -> datetime:
    if moment.month == 12:
        return moment.replace(year=moment.year + 1, month=1)
    return moment.replace(month=moment.month + 1)


def _next(moment: datetime, grain: Grain) -> datetime:
    if grain == "hour":
        return moment + timedelta(hours=1)
    if grain == "day":
        return moment + timedelta(days=1)
    return _next_month(moment)


def _ceil(moment: datetime, grain: Grain) -> datetime:
    floor = truncate(moment, grain)
    if floor == moment:
        return floor
    try:
        return _next(floor, grain)
    except (OverflowError, ValueError):
        return moment  # the very end of time: no whole unit after it


_GRAINS: Final[tuple[Grain, ...]] = ("hour", "day", "month")


def pieces(start: datetime, end: datetime, coarsest: Grain | None) -> list[Piece]:
    """``[start, end)`` as pieces answered from the raw events and rollups up to ``coarsest``."""
    if start >= end:
        return []
    return [piece for piece in _split(start, end, 0, coarsest) if piece.start < piece.end]


def _split(start: datetime, end: datetime, level: int, coarsest: Grain | None) -> list[Piece]:
    """Pieces of a range whose edges are whole units of the grain below ``level`` (raw at 0)."""
    here: Source = "raw" if level == 0 else _GRAINS[level - 1]
    if level == len(_GRAINS) or _ORDER[coarsest] <= level:
        return [Piece(here, start, end)]
    grain = _GRAINS[level]
    inner_start, inner_end = _ceil(start, grain), truncate(end, grain)
    if inner_start >= inner_end:
        return [Piece(here, start, end)]
    return [
        Piece(here, start, inner_start),
        *_split(inner_start, inner_end, level + 1, coarsest),
        Piece(here, inner_end, end),
    ]
