"""Points in time given by callers in query parameters (``from``, ``to``).

An instant must carry a timezone (a naive time is ambiguous) and must still be a date once
converted to UTC: ``9999-12-31T23:59:59-14:00`` is in year 10000 in UTC and ``0001-01-01T00:00:00+14:00``
in year 0, neither of which Python or the databases represent. Both are refused while the request is
validated (422 naming the parameter), never turned into a 500 by the query that would use them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def utc_instant(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a timezone, e.g. 2026-11-01T00:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range in UTC (years 1 to 9999)") from None


Instant = Annotated[datetime, AfterValidator(utc_instant)]
