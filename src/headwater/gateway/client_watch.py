"""Running a stream's relay while watching for the client to leave.

The relay runs in the request's own task; one watcher task waits for the client's disconnect and
cancels it. One task per stream and no ``asyncio.wait``: a relay task and ``asyncio.wait`` over two
tasks cost a streamed call ~50 µs of CPU (docs/benchmarks.md, issue 16).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from headwater.gateway.asgi import Receive, wait_for_disconnect


async def relay_watching(work: Coroutine[Any, Any, None], receive: Receive) -> bool:
    """Await ``work`` in this task; True when the client left (``work`` was cancelled then).

    Any other cancellation (a deadline's, the server's shutdown) goes on to the caller."""
    task = asyncio.current_task()
    assert task is not None
    left: list[bool] = []

    async def watch() -> None:
        await wait_for_disconnect(receive)
        left.append(True)
        task.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await work
    except asyncio.CancelledError:
        if not left:
            raise
        task.uncancel()  # the watcher's own cancellation: the client left
        return True
    finally:
        watcher.cancel()
        work.close()  # a relay that never started (cancelled at once) leaves no coroutine behind
    return False
