"""Telling the application at once that a client's connection is gone, without a task per call.

An ASGI application learns of a disconnect by awaiting ``receive()`` until it answers
``http.disconnect``; a streamed call that must stop its upstream the moment its client leaves needs
a task doing that wait beside the relay, about 8 µs of CPU per call to create, run and cancel
(docs/benchmarks.md). Headwater's server protocol (:mod:`headwater.serving.protocol`) instead puts
one :class:`Disconnects` per connection in each request's scope, under
``scope["extensions"][EXTENSION]["disconnects"]`` (:func:`of`): a call registers a callback, which
the protocol calls when the connection is lost, and removes it when done. An application served by
another server finds no such extension and falls back to ``receive()``. Plain Python: no server or
framework import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: The key under ``scope["extensions"]``.
EXTENSION = "headwater.disconnects"


_NONE: Mapping[str, Any] = {}


def of(scope: Mapping[str, Any]) -> Disconnects | None:
    """The scope's connection's :class:`Disconnects`; None under a server that gives none."""
    found = scope.get("extensions", _NONE).get(EXTENSION, _NONE).get("disconnects")
    return found if isinstance(found, Disconnects) else None


class Disconnects:
    """The callbacks waiting for one connection to be lost."""

    __slots__ = ("_callbacks", "lost")

    def __init__(self) -> None:
        self._callbacks: set[Callable[[], None]] = set()
        #: Whether the connection is gone (a callback added after that is never called).
        self.lost = False

    def add(self, callback: Callable[[], None]) -> None:
        self._callbacks.add(callback)

    def discard(self, callback: Callable[[], None]) -> None:
        self._callbacks.discard(callback)

    def __len__(self) -> int:
        return len(self._callbacks)

    def connection_lost(self) -> None:
        """The protocol's part: call (and forget) every callback, once."""
        self.lost = True
        callbacks, self._callbacks = self._callbacks, set()
        for callback in callbacks:
            callback()
