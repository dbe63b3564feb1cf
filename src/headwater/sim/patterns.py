"""Strings for a JSON Schema ``pattern``, made by rstr (the inverse of a regular expression, on the
standard library's regex parser) from the generator's seeded ``random.Random``.

Sampling is bounded: a pattern is at most :data:`MAX_PATTERN` characters and repeats at most
:data:`MAX_COUNT` times; an open or wide repetition (``*``, ``+``, ``{m,}``, ``{m,n}``) runs ``m``
times plus at most ``stretch`` more (rstr's own bound, the module-wide ``STAR_PLUS_LIMIT``, caps
every repetition's maximum, below the minimum of a large ``{m}``); each node of the parsed pattern
costs a unit of the budget. Characters come from readable ASCII where the pattern allows (``.``, a
negated class), and a range is drawn from without listing it (only its readable and Latin-1
characters are listed, for a negated class to leave out). A sample is not checked here: anchors and
lookarounds are not followed, so the caller checks it with the validator (never with Python's
backtracking ``re``). A pattern rstr cannot follow is a :class:`~headwater.sim.schema_core.SchemaError`.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from functools import lru_cache
from itertools import chain
from typing import Any

import rstr

from headwater.sim.schema_core import BudgetExceeded, SchemaError

MAX_PATTERN = 1000
MAX_COUNT = 1000
#: What ``.``, negated classes and ``\\W`` draw from.
READABLE = string.ascii_letters + string.digits + string.punctuation + " "
#: What a negated class that leaves out all of :data:`READABLE` draws from.
LATIN = "".join(chr(code) for code in range(0xA1, 0x250))


class _Sampler(rstr.Rstr):
    """rstr's generator with the bounds above."""

    def __init__(self, rng: random.Random, stretch: int, spend: Callable[[int], None]) -> None:
        super().__init__(
            rng, printable=READABLE, whitespace=" ", nonword=string.punctuation.replace("_", "") + " "
        )
        self._stretch = stretch
        self._spend = spend
        self._cases = {**self._cases, "range": self._range, "not_literal": self._not_literal}

    def _handle_state(self, state: Any) -> Any:
        self._spend(1)
        return super()._handle_state(state)

    def _handle_repeat(self, start_range: int, end_range: int, value: str) -> str:
        if start_range > MAX_COUNT:
            raise SchemaError(f"repetition counts above {MAX_COUNT} are not supported")
        times = self._random.randint(start_range, min(end_range, start_range + self._stretch))
        return "".join("".join(self._handle_state(state) for state in value) for _ in range(times))

    def _handle_in(self, value: Any) -> Any:
        candidates = list(chain.from_iterable(self._handle_state(state) for state in value))
        if candidates and candidates[0] is False:  # a negated class: what it does not list
            listed = set(candidates[1:])
            candidates = [char for char in READABLE if char not in listed]
            candidates = candidates or [char for char in LATIN if char not in listed]
        if not candidates:
            raise SchemaError("a character class of the pattern matches no readable character")
        return self._random.choice(candidates)

    def _range(self, bounds: tuple[int, int]) -> list[str]:
        """The readable characters of a range (what a negated class must leave out) and one drawn
        from all of it."""
        low, high = bounds
        readable = _readable(low, high)
        code = self._random.randint(low, high)
        return list(readable) if 0xD800 <= code <= 0xDFFF else [*readable, chr(code)]

    def _not_literal(self, code: int) -> str:
        return str(self._random.choice([char for char in READABLE if ord(char) != code]))


@lru_cache(maxsize=1024)
def _readable(low: int, high: int) -> tuple[str, ...]:
    return tuple(char for char in READABLE + LATIN if low <= ord(char) <= high)


def sample(pattern: str, rng: random.Random, stretch: int, spend: Callable[[int], None]) -> str:
    """A string made from ``pattern``, to be checked; raises :class:`SchemaError`."""
    if len(pattern) > MAX_PATTERN:
        raise SchemaError(f"patterns longer than {MAX_PATTERN} characters are not supported")
    spend(1 + len(pattern) // 16)
    try:
        return _Sampler(rng, stretch, spend).xeger(pattern)
    except BudgetExceeded:
        raise
    except SchemaError as error:
        raise SchemaError(f"pattern {pattern[:100]!r}: {error.reason}") from None
    except (re.error, ValueError, IndexError, KeyError, TypeError, RecursionError, OverflowError):
        # KeyError: a construct rstr does not follow (possessive repetitions, atomic groups...)
        raise SchemaError(f"pattern {pattern[:100]!r} cannot be sampled by the simulator") from None
