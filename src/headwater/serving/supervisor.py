"""uvicorn's worker supervisor, telling when a worker has gone.

uvicorn's :class:`~uvicorn.supervisors.Multiprocess` replaces a worker that died or hangs, replaces
them all on ``SIGHUP`` and retires one on ``SIGTTOU``. :class:`Supervisor` calls ``on_exit(pid)``
for each worker that left in any of these ways (and for all of them when it stops), so that what the
worker left behind (its live metric gauges, :func:`headwater.serving.metrics_dir.forget_process`)
is cleared.
"""

from __future__ import annotations

from collections.abc import Callable
from socket import socket

from uvicorn.config import Config
from uvicorn.supervisors import Multiprocess


class Supervisor(Multiprocess):
    def __init__(self, config: Config, sockets: list[socket], on_exit: Callable[[int], None]) -> None:
        super().__init__(config, sockets)
        self._on_exit = on_exit

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def _gone(self, before: set[int]) -> None:
        for pid in sorted(before - self._pids()):
            self._on_exit(pid)

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()
        self._gone(before)

    def restart_all(self) -> None:
        before = self._pids()
        super().restart_all()
        self._gone(before)

    def handle_ttou(self) -> None:
        before = self._pids()
        super().handle_ttou()
        self._gone(before)

    def join_all(self) -> None:
        super().join_all()
        for pid in sorted(self._pids()):
            self._on_exit(pid)
