"""One event, several sinks: the usage writer and the request metrics each get every event.

Each target is a plain callable (a writer's ``emit``, a list's ``append``): handing an event on costs
a call per target and nothing more. A target must not raise (the writer and the metrics sink only
append); the first that did would keep the event from the targets after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

E = TypeVar("E")


class FanOut(Generic[E]):
    __slots__ = ("_targets",)

    def __init__(self, *targets: Callable[[E], None]) -> None:
        self._targets = targets

    def emit(self, event: E) -> None:
        for target in self._targets:
            target(event)
