"""A model server that misbehaves on demand, for ``POST /models/test-connection``.

A :class:`tests.raw_server.RawServer`: ``GET /<behaviour>/v1/models``
answers as :data:`BEHAVIOURS` says. Each request's path and headers are recorded. The secret it
echoes is :data:`ECHOED`, the value tests give the credential variable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from tests.raw_server import RawServer, Seen

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
class ModelsServer(RawServer):
    def base_url(self, behaviour: str) -> str:
        return f"http://127.0.0.1:{self.port}/{behaviour}/v1"

    def requests_for(self, behaviour: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == f"/{behaviour}/v1/models"]

    async def answer(self, path: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
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


@contextlib.contextmanager
def models_server() -> Iterator[ModelsServer]:
    server = ModelsServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
