"""Running a stream's relay while watching for the client to leave.

The relay runs in the request's own task. Under Headwater's own server the connection's
:class:`~headwater.serving.disconnects.Disconnects` calls back when the client leaves, and the
callback cancels that task: no task of its own (a watcher task cost ~8 µs of CPU per streamed call,
docs/benchmarks.md). Under another ASGI server one watcher task waits for ``http.disconnect`` and
cancels it. Either way no relay task and no ``asyncio.wait``: those cost a streamed call ~50 µs
(docs/benchmarks.md, issue 16).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from headwater.gateway.asgi import Receive, wait_for_disconnect
from headwater.serving.disconnects import Disconnects


async def relay_watching(
    work: Coroutine[Any, Any, None], receive: Receive, disconnects: Disconnects | None = None
) -> bool:
    """Await ``work`` in this task; True when the client left (``work`` was cancelled then, or never
    started when the client had already left).

    Any other cancellation (a deadline's, the server's shutdown) goes on to the caller."""
    task = asyncio.current_task()
    assert task is not None
    left: list[bool] = []

    def gone() -> None:
        left.append(True)
        task.cancel()

    watcher: asyncio.Task[None] | None = None
    if disconnects is not None:
        if disconnects.lost:
            work.close()
            return True
        disconnects.add(gone)
    else:

        async def watch() -> None:
            await wait_for_disconnect(receive)
            gone()

        watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await work
    except asyncio.CancelledError:
        if not left:
            raise
        task.uncancel()  # the watcher's own cancellation: the client left
        return True
    finally:
        if watcher is not None:
            watcher.cancel()
        else:
            disconnects.discard(gone)  # type: ignore[union-attr]
        work.close()  # a relay that never started (cancelled at once) leaves no coroutine behind
    return False
