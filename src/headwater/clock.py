"""Time, in one place, so that tests can reason about it."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def epoch() -> float:
    return time.time()


def monotonic() -> float:
    return time.monotonic()
