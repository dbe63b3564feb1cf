"""What one upstream call costs the gateway's process: aiohttp's client against Headwater's own.

Both clients POST the bench's chat request to ``make bench``'s nginx, one call at a time on one kept
alive connection, under uvloop, and read the whole answer (non-stream) or every chunk of the stream,
as the gateway does (aiohttp with the gateway's settings: a pooled session, no redirects, a read
timeout). Prints CPU µs per call (``time.process_time``: the process's own work and its system calls;
nginx runs in another process), in alternating rounds.

    .venv/bin/python bench/client_micro.py [--calls 4000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
from yarl import URL

from common import HOST, Processes
from headwater.gateway.upstream_pool import Pool
from upstream import start_nginx

BODY = b'{"model":"bench-model","messages":[{"role":"user","content":"hello"}],"max_tokens":16}'
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer bench", "X-Request-Id": "bench-1"}
PATHS = {"non-stream": "/v1/chat/completions", "stream": "/stream/v1/chat/completions"}


async def timed(call: Callable[[], Awaitable[Any]], calls: int, stream: bool) -> float:
    """CPU µs per call of ``call`` (a POST returning a response), its body read and released."""
    started = time.process_time()
    for _ in range(calls):
        response = await call()
        if stream:
            async for _chunk in response.content.iter_any():
                pass
        else:
            await response.read()
        response.release()
    return (time.process_time() - started) / calls * 1e6


async def headwater(url: URL, calls: int, stream: bool) -> float:
    pool = Pool(limit=100, connect_timeout_s=5)
    try:
        return await timed(lambda: pool.post(url, HEADERS, BODY, 60), calls, stream)
    finally:
        pool.close()


async def with_aiohttp(url: URL, calls: int, stream: bool) -> float:
    timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_read=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
        return await timed(
            lambda: session.post(url, data=BODY, headers=HEADERS, timeout=timeout, allow_redirects=False),
            calls,
            stream,
        )


async def measure(port: int, calls: int, rounds: int) -> None:
    for mode, path in PATHS.items():
        url = URL(f"http://{HOST}:{port}{path}")
        figures: dict[str, list[float]] = {"aiohttp": [], "headwater": []}
        for _ in range(rounds):
            for name, client in (("aiohttp", with_aiohttp), ("headwater", headwater)):
                await client(url, calls // 10, mode == "stream")  # warm-up
                figures[name].append(await client(url, calls, mode == "stream"))
        for name, values in figures.items():
            shown = ", ".join(f"{value:.1f}" for value in values)
            print(f"{mode:10} {name:9}: {min(values):.1f} CPU µs per call (rounds: {shown})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="headwater-client-"))
    procs = Processes(directory)
    try:
        _, port = start_nginx(procs)
        uvloop.run(measure(port, args.calls, args.rounds))
    finally:
        procs.stop_all()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
