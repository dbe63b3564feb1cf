"""How events are written to the journal, one line each, and read back.

A segment starts with a header line naming the format and the event's fields; every other line is
one event: its field values as a compact JSON array in the header's order (a ``Decimal`` as its
string). Reading maps values to fields by the header's names, so a journal written before a field
was added (or after one was removed) still reads: a field missing from the header takes its
default, a field the event no longer has is ignored.

Encoding is one ``orjson.dumps`` of a tuple taken by a C ``attrgetter``: about half a microsecond.
An event orjson cannot encode (an integer past 64 bits) is encoded through
:func:`~headwater.usage.events.payload_of`, whose values are all JSON-safe; the database refuses
such an event anyway, and the writer keeps it as a dead letter.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import orjson

from headwater.usage.events import UsageEvent, payload_of

E = TypeVar("E")

FORMAT = 1
_LINE = orjson.OPT_APPEND_NEWLINE


class UnreadableLine(ValueError):
    """A journal line that is not an event (torn by a crash, or not written by this codec)."""


class Codec(Protocol[E]):
    #: What the segment files' names start with.
    kind: str

    def header(self) -> bytes:
        """The first line of every segment, newline included."""

    def encode(self, event: E) -> bytes:
        """One event as one line, newline included. Never raises."""

    def decoder(self, header: bytes) -> Callable[[bytes], E] | None:
        """How to read the lines under ``header`` (raising :class:`UnreadableLine`); None for a
        header this codec cannot read."""


_USAGE_FIELDS = dataclasses.fields(UsageEvent)
USAGE_FIELD_NAMES = tuple(field.name for field in _USAGE_FIELDS)
_REQUIRED = frozenset(
    field.name
    for field in _USAGE_FIELDS
    if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
)
#: orjson writes a NaN as null: read back as NaN where the field is a (non-optional) float.
_FLOATS = frozenset(field.name for field in _USAGE_FIELDS if field.type == "float")
_values = operator.attrgetter(*USAGE_FIELD_NAMES)


def _usage_event(fields: dict[str, Any]) -> UsageEvent:
    cost = fields.get("cost")
    fields["cost"] = Decimal(cost) if isinstance(cost, str) else cost
    groups = fields.get("groups")
    if isinstance(groups, list):
        fields["groups"] = tuple(groups)
    for name in _FLOATS:
        if name in fields and fields[name] is None:
            fields[name] = math.nan
    return UsageEvent(**fields)


class UsageCodec:
    kind = "usage"

    def header(self) -> bytes:
        return orjson.dumps({"journal": FORMAT, "kind": self.kind, "fields": USAGE_FIELD_NAMES}, option=_LINE)

    def encode(self, event: UsageEvent) -> bytes:
        try:
            return orjson.dumps(_values(event), default=str, option=_LINE)
        except TypeError:  # orjson refuses integers past 64 bits
            return orjson.dumps(list(payload_of(event).values()), option=_LINE)

    def decoder(self, header: bytes) -> Callable[[bytes], UsageEvent] | None:
        try:
            info = orjson.loads(header)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(info, dict) or info.get("journal") != FORMAT or info.get("kind") != self.kind:
            return None
        names = info.get("fields")
        if not isinstance(names, list) or not _REQUIRED.issubset(names):
            return None
        known = [name if name in USAGE_FIELD_NAMES else None for name in names]
        width = len(known)

        def decode(line: bytes) -> UsageEvent:
            try:
                values = orjson.loads(line)
                if not isinstance(values, list) or len(values) != width:
                    raise UnreadableLine("not an event of this segment")
                return _usage_event(
                    {name: value for name, value in zip(known, values, strict=True) if name is not None}
                )
            except UnreadableLine:
                raise
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise UnreadableLine(type(exc).__name__) from None

        return decode


USAGE_CODEC = UsageCodec()
