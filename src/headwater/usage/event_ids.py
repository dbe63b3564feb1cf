"""Usage event ids: unique across processes and restarts, made without a system call per event.

An id is a random prefix chosen once per process (64 bits) followed by a counter, in hex: at most
32 characters. A forked child chooses its own prefix (an ``os.register_at_fork`` hook, registered on
first use), so that two workers never share one.
"""

from __future__ import annotations

import itertools
import os
import secrets


class _Ids:
    def __init__(self) -> None:
        self.prefix = ""
        self.counter = itertools.count(1)
        self.hooked = False

    def reset(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.counter = itertools.count(1)


_ids = _Ids()


def new_event_id() -> str:
    ids = _ids
    if not ids.prefix:
        if not ids.hooked:
            os.register_at_fork(after_in_child=ids.reset)
            ids.hooked = True
        ids.reset()
    return f"{ids.prefix}{next(ids.counter):x}"
