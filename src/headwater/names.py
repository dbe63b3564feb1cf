"""Names, owners and durations: the small value types shared by the admin API, CLI and YAML."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer, StringConstraints

#: Resource names: what ``metadata.name`` holds. DNS-label-like, dots allowed (``granite-3.1-8b``).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=128)]

#: Model names: also the forms people already know them by, which carry ``/`` and ``:``:
#: ``meta-llama/Llama-3.1-8B-Instruct`` (Hugging Face, vLLM), ``llama3.1:8b`` (Ollama),
#: ``gpt-4o-2024-08-06``. Segments separated by single slashes, each starting with a letter or digit,
#: so no name is empty, absolute, ends in ``/`` or holds a ``.``/``..`` path segment. At most 128
#: characters: a separate ``max_length`` (pydantic's regex engine has no look-ahead to count with).
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*(/[A-Za-z0-9][A-Za-z0-9._:@+-]*)*$"
MODEL_NAME_MAX = 128
ModelName = Annotated[str, StringConstraints(pattern=MODEL_NAME_PATTERN, max_length=MODEL_NAME_MAX)]

OWNER_PATTERN = r"^(user|group|serviceaccount):[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"
Owner = Annotated[str, StringConstraints(pattern=OWNER_PATTERN)]

#: Exact amounts, written in fixed-point ("0.0000004", never "4E-7") in JSON.
Amount = Annotated[
    Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json")
]

_DURATION = re.compile(r"^(\d{1,20})([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

#: The longest duration (and the furthest date ahead) anything accepts: 100 years of 365 days.
#: Far beyond any sane expiry or grace, and far from what dates and timedeltas can hold.
MAX_DURATION = timedelta(days=36500)


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` → a timedelta, at most :data:`MAX_DURATION`."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"invalid duration {text!r}: use a positive number and s, m, h, d or w, e.g. 30d")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {text!r} is too long: at most 100 years (36500d)")
    return timedelta(seconds=seconds)


def split_owner(owner: str) -> tuple[str, str]:
    kind, _, name = owner.partition(":")
    return kind, name
