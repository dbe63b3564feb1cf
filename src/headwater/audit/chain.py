"""The audit hash chain: canonical form, hashes and verification.

Pure functions and no I/O, importable without the server stack (the CLI verifies with them).

Each event's hash is the SHA-256 (lower-case hex) of its canonical form: a JSON object holding
``seq``, ``ts``, ``actor``, ``action``, ``target_type``, ``target_id``, ``before``, ``after``,
``request_id``, ``source_ip``, ``outcome``, ``detail`` and ``prev_hash``, written as
``json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)``,
with ``ts`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, always six digits of microseconds).
``prev_hash`` is the previous event's hash, or :data:`GENESIS` for event 1.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

GENESIS = "0" * 64

#: What the hash covers, besides ``prev_hash``.
CONTENT_FIELDS = (
    "seq",
    "ts",
    "actor",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "request_id",
    "source_ip",
    "outcome",
    "detail",
)


def format_ts(value: datetime | str) -> str:
    """``2026-11-25T14:00:00.000000Z``: the one timestamp form that is hashed (naive means UTC)."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond:06d}Z"


def json_value(value: Any) -> Any:
    """``value`` as plain JSON data: str keys, lists, Decimals as fixed-point text, UTC timestamps."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((json_value(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if isinstance(value, UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_value(dataclasses.asdict(value))
    dump = getattr(value, "model_dump", None)  # pydantic models, without importing pydantic
    if callable(dump):
        return json_value(dump(mode="json"))
    raise TypeError(f"cannot record a {type(value).__name__} in the audit trail")


def canonical(content: Mapping[str, Any], prev_hash: str) -> bytes:
    """The bytes that are hashed. ``content`` may be a DB row or an API dict (``ts`` as text)."""
    fields: dict[str, Any] = {name: content.get(name) for name in CONTENT_FIELDS}
    fields["seq"] = int(content["seq"])
    fields["ts"] = format_ts(content["ts"])
    fields["before"] = json_value(fields["before"])
    fields["after"] = json_value(fields["after"])
    fields["prev_hash"] = prev_hash
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text.encode("ascii")


def event_hash(content: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 (hex) of :func:`canonical`."""
    return hashlib.sha256(canonical(content, prev_hash)).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    #: Events found intact, from seq 1 up to the first broken one.
    checked: int
    first_broken_seq: int | None
    reason: str | None
    #: The hash of the last intact event (:data:`GENESIS` when there is none).
    last_hash: str


class Verifier:
    """Checks events one at a time, in seq order from 1; stops at the first broken link."""

    def __init__(self) -> None:
        self.checked = 0
        self.last_hash = GENESIS
        self.broken: tuple[int, str] | None = None

    def _break(self, seq: int, reason: str) -> bool:
        self.broken = (seq, reason)
        return False

    def add(self, event: Mapping[str, Any]) -> bool:
        """True while the chain holds."""
        if self.broken is not None:
            return False
        expected = self.checked + 1
        try:
            seq = int(event["seq"])
        except (KeyError, TypeError, ValueError):
            return self._break(expected, "malformed event: no integer seq")
        if seq > expected:
            missing = f"event {expected} is" if seq == expected + 1 else f"events {expected}-{seq - 1} are"
            return self._break(expected, f"{missing} missing (the next event is {seq})")
        if seq < expected:
            return self._break(expected, f"event {seq} is repeated or out of order (expected {expected})")
        if event.get("prev_hash") != self.last_hash:
            previous = "the genesis hash" if seq == 1 else f"the hash of event {seq - 1}"
            return self._break(seq, f"prev_hash is not {previous}")
        try:
            digest = event_hash(event, self.last_hash)
        except (KeyError, TypeError, ValueError) as exc:
            return self._break(seq, f"malformed event: {exc}")
        if event.get("hash") != digest:
            return self._break(seq, "its content was changed: the recomputed hash is not the stored one")
        self.checked = seq
        self.last_hash = digest
        return True

    def result(self, head: tuple[int, str] | None = None) -> VerifyResult:
        """The verdict; ``head`` (the stored last seq and hash) also catches removed newest events."""
        if self.broken is None and head is not None:
            head_seq, head_hash = head
            if self.checked < head_seq:
                first = self.checked + 1
                missing = f"event {first} is" if first == head_seq else f"events {first}-{head_seq} are"
                self._break(first, f"{missing} missing (the chain's head is at {head_seq})")
            elif self.checked > head_seq:
                self._break(head_seq + 1, f"events after the chain's head ({head_seq}) exist")
            elif self.last_hash != head_hash:
                self._break(head_seq, "the chain's head hash does not match this event's hash")
        if self.broken is not None:
            seq, reason = self.broken
            return VerifyResult(False, self.checked, seq, reason, self.last_hash)
        return VerifyResult(True, self.checked, None, None, self.last_hash)


def verify(events: Iterable[Mapping[str, Any]], *, head: tuple[int, str] | None = None) -> VerifyResult:
    """Walk ``events`` (ascending seq, from 1) and report the first broken link, if any."""
    verifier = Verifier()
    for event in events:
        if not verifier.add(event):
            break
    return verifier.result(head)
