"""The uvicorn configuration of ``headwater serve``, and running it.

:class:`ServingConfig` is uvicorn's ``Config`` with two more fields, which travel with it to every
worker (uvicorn pickles the config into each spawned worker):

- ``header_timeout_s``, read by :class:`~headwater.serving.protocol.BoundedHttpToolsProtocol`;
- ``supervisor_pid``, the serving process when it supervises workers: a worker's ``load()`` (the
  first thing it does before serving) arranges to exit with it (:mod:`headwater.serving.supervise`).

With workers, the serving process gives them a metrics directory for their lifetime
(:mod:`headwater.serving.metrics_dir`).

:func:`run` is ``uvicorn.run`` for a ready-made config: one process serves, or the serving process
supervises ``workers`` processes on one shared socket.
"""

from __future__ import annotations

import os
from typing import Any

import uvicorn

from headwater.serving.metrics_dir import forget_process, metrics_directory
from headwater.serving.supervise import exit_with_parent
from headwater.serving.supervisor import Supervisor

PROTOCOL = "headwater.serving.protocol:BoundedHttpToolsProtocol"


class ServingConfig(uvicorn.Config):
    def __init__(
        self,
        app: str,
        *,
        header_timeout_s: float | None = None,
        supervisor_pid: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(app, **options)
        self.header_timeout_s = header_timeout_s
        self.supervisor_pid = supervisor_pid

    def load(self) -> None:
        if self.supervisor_pid is not None and os.getpid() != self.supervisor_pid:
            exit_with_parent(self.supervisor_pid, grace_s=float(self.timeout_graceful_shutdown or 0))
        super().load()


def run(config: ServingConfig) -> bool:
    """Serve until stopped. False when a single serving process failed to start."""
    with metrics_directory(workers=config.workers > 1):  # what any worker's /metrics reads
        if config.workers > 1:
            config.supervisor_pid = os.getpid()
            Supervisor(config, [config.bind_socket()], on_exit=forget_process).run()
            return True
        server = uvicorn.Server(config)
        server.run()
        return server.started
