"""Strings for the common JSON Schema ``format`` values (what pydantic and the OpenAI SDK emit for
``datetime``, ``date``, ``time``, ``timedelta``, ``EmailStr``, ``AnyUrl``, ``UUID``, IP addresses),
valid by RFC 3339, RFC 5322 (the simple form), RFC 3986, RFC 4122 and friends. A format not listed
here is an annotation the generator ignores."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

from headwater.sim.text import WORDS

_DOMAINS = ("example.com", "example.org", "example.net")


def _date(rng: random.Random) -> str:
    return f"{rng.randint(2000, 2030):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _time(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def _word(rng: random.Random) -> str:
    return rng.choice(WORDS)


def _host(rng: random.Random) -> str:
    return f"{_word(rng)}.{rng.choice(_DOMAINS)}"


def _url(rng: random.Random) -> str:
    return f"https://{_host(rng)}/{_word(rng)}/{_word(rng)}"


FORMATS: dict[str, Callable[[random.Random], str]] = {
    "date-time": lambda rng: f"{_date(rng)}T{_time(rng)}",
    "date": _date,
    "time": _time,
    "duration": lambda rng: f"P{rng.randint(1, 30)}DT{rng.randint(0, 23)}H{rng.randint(0, 59)}M",
    "email": lambda rng: f"{_word(rng)}.{_word(rng)}@{rng.choice(_DOMAINS)}",
    "idn-email": lambda rng: f"{_word(rng)}@{rng.choice(_DOMAINS)}",
    "hostname": _host,
    "idn-hostname": _host,
    "ipv4": lambda rng: f"192.0.2.{rng.randint(1, 254)}",
    "ipv6": lambda rng: f"2001:db8::{rng.randint(1, 0xFFFF):x}",
    "uri": _url,
    "url": _url,
    "iri": _url,
    "uri-reference": _url,
    "iri-reference": _url,
    "uri-template": lambda rng: f"https://{_host(rng)}/{{{_word(rng)}}}",
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "json-pointer": lambda rng: f"/{_word(rng)}/{rng.randint(0, 9)}",
    "relative-json-pointer": lambda rng: f"{rng.randint(0, 3)}/{_word(rng)}",
    "regex": lambda rng: f"^{_word(rng)}[0-9]+$",
}
