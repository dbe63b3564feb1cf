"""Usage and limit events, and what the batched writer needs from a store.

A store tells a batch it cannot write because of what is *in* it (a value out of range, a string
too long: retrying cannot help) from a failure of the database itself (down, unreachable: retrying
will) by raising :class:`RejectedEvents` for the first kind only. The writer then isolates the
offending events and hands them to a :class:`DeadLetterStore` as :class:`DeadLetter` records whose
payload is the event as JSON-safe values (:func:`payload_of`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

#: The ``key_id`` of usage and limit events of callers who used no API key.
TOKEN_KEY_ID = "oidc"  # noqa: S105 (a label, not a secret)
HEADER_KEY_ID = "header"
NOT_KEYS = frozenset({TOKEN_KEY_ID, HEADER_KEY_ID})


@dataclass(slots=True)
class UsageEvent:
    ts: float
    request_id: str
    key_id: str
    principal: str
    model: str
    deployment: str
    provider: str
    endpoint: str
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal
    currency: str
    status: str  # success | error | cancelled
    http_status: int
    latency_ms: float
    ttft_ms: float | None
    streamed: bool
    estimated: bool
    #: The event's own id, unique: a replayed event (the journal, a retried batch) is written once.
    event_id: str = ""
    #: Attribution frozen at call time (:mod:`headwater.usage.attribution`): the caller's groups
    #: (sorted), the cost center, and the policy (tier) that admitted the call.
    groups: tuple[str, ...] = ()
    cost_center: str | None = None
    policy: str | None = None


class UsageSink(Protocol):
    def emit(self, event: UsageEvent) -> None: ...


E_contra = TypeVar("E_contra", contravariant=True)


class RejectedEvents(Exception):
    """The store refused a batch for its data: the same batch would be refused again.

    ``reason`` says why without the refused values or any statement parameter.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EventStore(Protocol[E_contra]):
    async def write(self, events: Sequence[E_contra]) -> None:
        """Persist a batch of events in one transaction (all or nothing).

        Raises :class:`RejectedEvents` when the batch's content is at fault; any other exception
        means the database could not be reached or failed, and the same batch may be retried.
        """


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event the store refused, kept whole so that it can be inspected and replayed."""

    ts: float
    kind: str  # usage | limit events
    payload: dict[str, Any]
    error: str


class DeadLetterStore(Protocol):
    async def write(self, letters: Sequence[DeadLetter]) -> None:
        """Persist dead letters; raises :class:`RejectedEvents` when even they cannot be stored."""


#: Longest string kept in a dead letter's payload (events' own strings are far shorter).
PAYLOAD_MAX_CHARS = 4096


def _json_safe(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        text = value[:PAYLOAD_MAX_CHARS].encode("utf-8", "backslashreplace").decode("utf-8")
        return text.replace("\x00", "\\x00")
    return _json_safe(repr(value))


def payload_of(event: object) -> dict[str, Any]:
    """An event's fields as values every JSON column accepts (non-finite floats, huge integers,
    decimals, NUL characters and lone surrogates become text)."""
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        fields = {field.name: getattr(event, field.name) for field in dataclasses.fields(event)}
    else:
        fields = {"repr": repr(event)}
    return {name: _json_safe(value) for name, value in fields.items()}


@dataclass(slots=True)
class LimitEvent:
    """A call refused (``denied``) or let through over a soft limit (``warned``)."""

    ts: float
    request_id: str
    key_id: str
    principal: str
    model: str
    policy: str | None
    limit: str
    kind: str  # rate | budget | schedule
    action: str  # denied | warned
