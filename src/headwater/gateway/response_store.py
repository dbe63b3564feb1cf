"""Stored Responses API responses: what the gateway keeps for ``store`` and ``previous_response_id``.

The gateway sees only :class:`ResponseStore`; the database implementation lives in
:mod:`headwater.storage.sql.stored_responses` (the data plane imports no SQL) and is chosen by the
composition root. The contract every implementation keeps:

- A response belongs to the principal that created it (``owner``): :meth:`ResponseStore.load` and
  :meth:`ResponseStore.delete` find it only for that owner. Missing, expired and someone else's are
  indistinguishable (``None`` / ``False``), so another tenant learns nothing, not even that it exists.
- A record is kept until ``ttl_s`` after it was saved; then it is gone for every reader, whether or
  not a background pass has removed it yet.
- A record whose JSON (input items and response together) is larger than ``max_bytes`` is not stored:
  logged once at warning with its id, never its content; a later load finds nothing.
- Saving an id that is already stored keeps the first record (an id is never taken over).
- What is loaded is a copy: changing it changes nothing stored.

:class:`MemoryResponseStore` (bounded in count, per process) serves tests and a gateway without a
database; :class:`NoResponseStore` is the store when keeping responses is turned off.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

log = logging.getLogger("headwater.gateway")

Json = dict[str, Any]

#: The largest record kept by default: its JSON, input items and response together, uncompressed.
MAX_RECORD_BYTES = 16 * 1024 * 1024
#: Records a :class:`MemoryResponseStore` keeps by default; the oldest saved goes first beyond it.
MAX_MEMORY_RECORDS = 10_000


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str  # "resp_…"
    owner: str  # the caller's principal (KeyView.principal: "user:alice", "serviceaccount:bot")
    model: str  # the public model name
    created_at: int  # epoch seconds
    input_items: list[Json]  # the whole conversation input of that call (history expanded)
    response: Json  # the Response object as returned to the client


class ResponseStore(Protocol):
    async def save(self, record: StoredResponse) -> None:
        """Keeps ``record`` (unless too large, or its id is taken). A backend that is unreachable
        raises; the caller treats that as not stored."""
        ...

    async def load(self, owner: str, response_id: str) -> StoredResponse | None:
        """The record, or None when it is missing, expired or not ``owner``'s."""
        ...

    async def delete(self, owner: str, response_id: str) -> bool:
        """Removes ``owner``'s live record; False when there was none for them."""
        ...


def encode_body(record: StoredResponse) -> bytes:
    """The stored JSON of a record's content: ``{"input_items": [...], "response": {...}}``."""
    body = {"input_items": record.input_items, "response": record.response}
    return orjson.dumps(body)


def decode_body(head: StoredResponse, body: bytes) -> StoredResponse:
    """``head`` (a record without content) with the content of :func:`encode_body`'s ``body``."""
    content = orjson.loads(body)
    return StoredResponse(
        id=head.id,
        owner=head.owner,
        model=head.model,
        created_at=head.created_at,
        input_items=content["input_items"],
        response=content["response"],
    )


def warn_too_large(response_id: str, size: int, max_bytes: int) -> None:
    log.warning(
        "stored responses: %s not stored, its %d bytes exceed the %d-byte limit", response_id, size, max_bytes
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    head: StoredResponse  # content left empty: the content is ``body``, decoded on each load
    body: bytes
    expires_at: float


class MemoryResponseStore:
    """Per-process store: at most ``max_records`` (the oldest saved goes first), each for ``ttl_s``."""

    def __init__(
        self,
        *,
        ttl_s: float,
        max_records: int = MAX_MEMORY_RECORDS,
        max_bytes: int = MAX_RECORD_BYTES,
        now: Callable[[], float] = time.time,
    ) -> None:
        if ttl_s <= 0 or max_records < 1 or max_bytes < 1:
            raise ValueError("response store: ttl_s > 0, max_records ≥ 1 and max_bytes ≥ 1")
        self._ttl_s = ttl_s
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._now = now
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    async def save(self, record: StoredResponse) -> None:
        body = encode_body(record)
        if len(body) > self._max_bytes:
            warn_too_large(record.id, len(body), self._max_bytes)
            return
        now = self._now()
        self._expire(now)
        if record.id in self._entries:
            return
        head = StoredResponse(record.id, record.owner, record.model, record.created_at, [], {})
        self._entries[record.id] = _Entry(head, body, now + self._ttl_s)
        while len(self._entries) > self._max_records:
            self._entries.popitem(last=False)

    async def load(self, owner: str, response_id: str) -> StoredResponse | None:
        entry = self._live(owner, response_id)
        return None if entry is None else decode_body(entry.head, entry.body)

    async def delete(self, owner: str, response_id: str) -> bool:
        if self._live(owner, response_id) is None:
            return False
        del self._entries[response_id]
        return True

    def __len__(self) -> int:
        return len(self._entries)

    def _live(self, owner: str, response_id: str) -> _Entry | None:
        entry = self._entries.get(response_id)
        if entry is None or entry.head.owner != owner or entry.expires_at <= self._now():
            return None
        return entry

    def _expire(self, now: float) -> None:
        """Drops expired records from the oldest saved (all share one TTL: saved order is expiry order)."""
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if oldest.expires_at > now:
                return
            self._entries.popitem(last=False)


class NoResponseStore:
    """Keeping responses turned off: nothing is stored, nothing is found."""

    async def save(self, record: StoredResponse) -> None:
        return None

    async def load(self, owner: str, response_id: str) -> StoredResponse | None:
        return None

    async def delete(self, owner: str, response_id: str) -> bool:
        return False
