"""The reference proxy: the "Python ceiling" that Headwater is compared with in ``make bench``.

A raw ASGI app on uvicorn (uvloop + httptools, no access log) that forwards each POST body to
``UPSTREAM + path`` through one pooled aiohttp session and returns the upstream's response:
the whole body at once, or chunk by chunk (``more_body``) when it is an event stream.
No auth, no parsing, no accounting: what any Python proxy on this stack costs at least.

    python bench/refproxy.py --port 8100 --upstream http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import aiohttp
import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class RefProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            await self.forward(scope, receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                connector = aiohttp.TCPConnector(limit=1000)
                self.session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.session is not None:
                    await self.session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.session is not None
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        url = self.upstream + scope["path"]
        headers = {"Content-Type": "application/json"}
        async with self.session.post(url, data=b"".join(chunks), headers=headers) as response:
            content_type = response.headers.get("Content-Type", "application/json")
            out = [(b"content-type", content_type.encode("latin-1"))]
            if content_type.startswith("text/event-stream"):
                await send({"type": "http.response.start", "status": response.status, "headers": out})
                async for data in response.content.iter_any():
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                body = await response.read()
                out.append((b"content-length", str(len(body)).encode()))
                await send({"type": "http.response.start", "status": response.status, "headers": out})
                await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:8000")
    args = parser.parse_args()
    uvicorn.run(
        RefProxy(args.upstream),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
    )


if __name__ == "__main__":
    main()
