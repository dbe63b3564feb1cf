"""A raw asyncio HTTP/1.1 server in a thread, bound to 127.0.0.1, for upstreams that misbehave.

Subclasses answer each request in :meth:`RawServer.answer`, writing whatever bytes they like (a
wrong length, a hang, a redirect, ...). Every request's path and headers are recorded in ``seen``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field

from tests.support import free_port


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class RawServer:
    port: int = field(default_factory=free_port)
    seen: list[Seen] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    async def answer(self, path: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def start(self) -> None:
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def serve() -> None:
            asyncio.set_event_loop(loop)
            server = loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", self.port))
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                for task in asyncio.all_tasks(loop):
                    task.cancel()
                loop.run_until_complete(asyncio.sleep(0.05))
                loop.close()

        self._thread = threading.Thread(target=serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            self.seen.append(Seen(path, headers))
            await self.answer(path, headers, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a connection cut by either side, or the server stopping
        finally:
            with contextlib.suppress(Exception):
                writer.close()
