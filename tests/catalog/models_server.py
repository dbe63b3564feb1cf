"""A model server that misbehaves on demand, for ``POST /models/test-connection``.

A raw asyncio HTTP/1.1 server in a thread, bound to 127.0.0.1: ``GET /<behaviour>/v1/models``
answers as :data:`BEHAVIOURS` says. Each request's path and headers are recorded. The secret it
echoes is :data:`ECHOED`, the value tests give the credential variable.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson

from tests.support import free_port

ECHOED = "sk-upstream-" + "e" * 24
LIST = orjson.dumps({"object": "list", "data": [{"id": f"m{n}", "object": "model"} for n in range(150)]})
#: behaviour → (status, extra headers, body). ``None``: never answers.
BEHAVIOURS: dict[str, tuple[int, tuple[str, ...], bytes] | None] = {
    "list": (200, ("Content-Type: application/json",), LIST),
    "html": (200, ("Content-Type: text/html",), b"<!doctype html><title>Welcome to nginx!</title>"),
    "notalist": (200, ("Content-Type: application/json",), b'{"models": ["a"]}'),
    "echo": (401, ("Content-Type: application/json",), b""),  # the body names the Authorization sent
    "failing": (503, ("Content-Type: text/plain",), b"overloaded"),
    "redirect": (302, ("Location: /redirected/v1/models",), b""),
    "huge": (200, ("Content-Type: application/json",), b'{"data": [' + b" " * (2 * 1024 * 1024) + b"]}"),
    "hang": None,
}


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class ModelsServer:
    port: int = field(default_factory=free_port)
    seen: list[Seen] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def base_url(self, behaviour: str) -> str:
        return f"http://127.0.0.1:{self.port}/{behaviour}/v1"

    def requests_for(self, behaviour: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == f"/{behaviour}/v1/models"]

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

        self._thread = threading.Thread(target=serve, name="models-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the models server did not start")

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
            behaviour = path.removesuffix("/v1/models").strip("/")
            answer = BEHAVIOURS.get(behaviour, (404, (), b"404 page not found"))
            if answer is None:
                await asyncio.sleep(60)
                return
            status, extra, body = answer
            if behaviour == "echo":
                sent = headers.get("authorization", "")
                body = orjson.dumps({"error": {"message": f"Incorrect API key provided: {sent}"}})
            lines_out = [f"HTTP/1.1 {status} X", "Connection: close", f"Content-Length: {len(body)}", *extra]
            writer.write(("\r\n".join(lines_out) + "\r\n\r\n").encode() + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


@contextlib.contextmanager
def models_server() -> Iterator[ModelsServer]:
    server = ModelsServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
