"""Serving the simulator with uvicorn."""

from __future__ import annotations

import logging
from importlib.util import find_spec

import uvicorn

from headwater.sim.app import create_sim_app
from headwater.sim.config import SimConfig


class _QuietCut(logging.Filter):
    """Drops uvicorn's complaint about the responses that ``:cut`` leaves unfinished on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


_QUIET_CUT = _QuietCut()


def make_server(config: SimConfig, host: str = "127.0.0.1", port: int = 8001) -> uvicorn.Server:
    """A uvicorn server for the simulator, not started (``server.run()`` blocks until it exits)."""
    uv_config = uvicorn.Config(
        create_sim_app(config),
        host=host,
        port=port,
        loop="uvloop" if find_spec("uvloop") is not None else "asyncio",
        http="httptools" if find_spec("httptools") is not None else "h11",
        ws="none",
        lifespan="on",
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    logging.getLogger("uvicorn.error").addFilter(_QUIET_CUT)
    return uvicorn.Server(uv_config)


def run(config: SimConfig, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Serve the simulator on ``host:port`` until interrupted."""
    make_server(config, host, port).run()
