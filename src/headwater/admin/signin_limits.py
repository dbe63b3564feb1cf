"""Bounds on what unauthenticated callers can make browser sign-in write.

``/auth/login`` stores a pending login state and every failed ``/auth/callback`` writes an audit
event (serialised on the chain's head), both without credentials. Without bounds, anyone could
fill the login-state table and flood the audit chain. So, in each worker process:

- each source IP may start at most ``LOGINS_PER_MINUTE`` sign-ins and make at most
  ``CALLBACKS_PER_MINUTE`` callbacks a minute; past that, 429 with ``Retry-After``;
- at most ``MAX_PENDING_LOGINS`` sign-ins may be under way (expired states are deleted first);
  past that, 503 with ``Retry-After``;
- failed callbacks are audited at most ``FAILURE_AUDITS_PER_SOURCE`` a minute per source IP and
  ``FAILURE_AUDITS_TOTAL`` a minute in all; the rest are counted
  (``headwater_signin_failures_unaudited_total``) and logged in aggregate, once a minute at most.

Windows are fixed: a window starts with the first event after the previous one ended, and every
count starts again. Memory is bounded too: at most ``MAX_SOURCES`` source IPs are tracked per
window; sources past that share one count.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from headwater.clock import monotonic

log = logging.getLogger("headwater.signin")

LOGINS_PER_MINUTE = 60
CALLBACKS_PER_MINUTE = 60
MAX_PENDING_LOGINS = 10_000
FAILURE_AUDITS_PER_SOURCE = 10
FAILURE_AUDITS_TOTAL = 100
MAX_SOURCES = 10_000
WINDOW_S = 60.0
_OTHERS = "*"  # the shared count of sources past MAX_SOURCES


class SourceRate:
    """At most ``per_source`` events per window from one source, and ``total`` from all."""

    def __init__(
        self,
        per_source: int,
        total: int | None = None,
        window_s: float = WINDOW_S,
        max_sources: int = MAX_SOURCES,
    ) -> None:
        self.per_source = per_source
        self.total = total
        self.window_s = window_s
        self.max_sources = max_sources
        self._started = -math.inf
        self._counts: dict[str, int] = {}
        self._all = 0

    def allow(self, source: str | None) -> bool:
        now = monotonic()
        if now - self._started >= self.window_s:
            self._started, self._counts, self._all = now, {}, 0
        key = source or _OTHERS
        if key not in self._counts and len(self._counts) >= self.max_sources:
            key = _OTHERS
        count = self._counts.get(key, 0)
        if count >= self.per_source or (self.total is not None and self._all >= self.total):
            return False
        self._counts[key] = count + 1
        self._all += 1
        return True

    def retry_after_s(self) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        return max(1, math.ceil(self._started + self.window_s - monotonic()))


@dataclass
class SignInLimits:
    logins: SourceRate = field(default_factory=lambda: SourceRate(LOGINS_PER_MINUTE))
    callbacks: SourceRate = field(default_factory=lambda: SourceRate(CALLBACKS_PER_MINUTE))
    failure_audits: SourceRate = field(
        default_factory=lambda: SourceRate(FAILURE_AUDITS_PER_SOURCE, FAILURE_AUDITS_TOTAL)
    )
    max_pending_logins: int = MAX_PENDING_LOGINS
    #: Failed sign-ins not audited one by one (a counter for /metrics).
    unaudited: int = 0
    _reported: float = -math.inf

    def audit_failure(self, source: str | None) -> bool:
        """Whether this failed sign-in gets its own audit event; if not, it is counted and logged
        in aggregate."""
        if self.failure_audits.allow(source):
            return True
        self.unaudited += 1
        now = monotonic()
        if now - self._reported >= WINDOW_S:
            self._reported = now
            log.warning(
                "failed sign-ins past the audit rate (%d a minute per source IP, %d in all): "
                "%d not audited one by one so far",
                FAILURE_AUDITS_PER_SOURCE,
                FAILURE_AUDITS_TOTAL,
                self.unaudited,
            )
        return False
