"""A stream's relay stops the moment its client leaves: told by Headwater's server protocol through
the scope, or found by watching ``receive()`` under any other ASGI server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import pytest
import uvicorn

from headwater.gateway.client_watch import relay_watching
from headwater.serving import disconnects
from headwater.serving.config import PROTOCOL
from headwater.serving.disconnects import Disconnects
from tests.support import free_port

Message = MutableMapping[str, Any]


class Relay:
    """A relay that runs until it is cancelled or told to end; says what happened to it."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.end = asyncio.Event()
        self.cancelled = False

    async def run(self) -> None:
        self.started.set()
        try:
            await self.end.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def never_disconnects() -> Message:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


# ---- told by the server --------------------------------------------------------------------------
async def test_a_lost_connection_cancels_the_relay_and_says_the_client_left() -> None:
    watch, relay = Disconnects(), Relay()
    running = asyncio.ensure_future(relay_watching(relay.run(), never_disconnects, watch))
    await relay.started.wait()
    assert len(watch) == 1
    watch.connection_lost()
    assert await asyncio.wait_for(running, 5) is True
    assert relay.cancelled
    assert len(watch) == 0


async def test_a_relay_that_ends_leaves_no_callback_behind() -> None:
    watch, relay = Disconnects(), Relay()
    running = asyncio.ensure_future(relay_watching(relay.run(), never_disconnects, watch))
    await relay.started.wait()
    relay.end.set()
    assert await asyncio.wait_for(running, 5) is False
    assert len(watch) == 0
    watch.connection_lost()  # later: nothing is called for a call that is over
    assert not relay.cancelled


async def test_a_client_gone_before_the_relay_starts_means_no_relay() -> None:
    watch, relay = Disconnects(), Relay()
    watch.connection_lost()
    assert await relay_watching(relay.run(), never_disconnects, watch) is True
    assert not relay.started.is_set()  # the upstream is never read for a client that is gone


async def test_another_cancellation_goes_on_to_the_caller() -> None:
    watch, relay = Disconnects(), Relay()
    running = asyncio.ensure_future(relay_watching(relay.run(), never_disconnects, watch))
    await relay.started.wait()
    running.cancel()  # a deadline's or the server's shutdown: not the client leaving
    with pytest.raises(asyncio.CancelledError):
        await running
    assert relay.cancelled
    assert len(watch) == 0


# ---- another server: receive() is watched --------------------------------------------------------
async def test_without_the_extension_receive_is_watched() -> None:
    gone = asyncio.Event()

    async def receive() -> Message:
        await gone.wait()
        return {"type": "http.disconnect"}

    relay = Relay()
    running = asyncio.ensure_future(relay_watching(relay.run(), receive))
    await relay.started.wait()
    gone.set()
    assert await asyncio.wait_for(running, 5) is True
    assert relay.cancelled
    assert disconnects.of({"type": "http", "headers": []}) is None


# ---- Headwater's server protocol, for real -------------------------------------------------------
@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=PROTOCOL, lifespan="off", log_level="error"
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_the_server_protocol_tells_a_relay_its_client_left() -> None:
    seen: list[Disconnects | None] = []
    outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    relay = Relay()

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        watch = disconnects.of(scope)
        seen.append(watch)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        outcome.set_result(await relay_watching(relay.run(), never_disconnects, watch))

    async with serving(app) as port:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await asyncio.wait_for(relay.started.wait(), 5)
        writer.close()  # the client leaves mid-stream
        assert await asyncio.wait_for(outcome, 5) is True  # never_disconnects: only the protocol told it
    assert relay.cancelled
    assert len(seen) == 1 and isinstance(seen[0], Disconnects) and len(seen[0]) == 0
