"""Aborted streams for ``make bench --soak``: open a stream, read its first event, close the socket.

``python bench/aborter.py URL --rate R`` (bench/soak.py starts it pinned to the load CPU): a few
threads, each on a fresh connection per stream, POST the stream body (BENCH_BODY) with the keys in
BENCH_KEYS (comma-separated, used in turn), read the response up to the end of its first SSE event
(bench/httpclient.py) and close the connection while the upstream is still sending (the soak's model
sits on nginx's slow stream, ~1 s per stream). Together they start about R streams a second. On
SIGTERM or SIGINT they finish the stream in hand and the process prints its counts as one JSON line:
``started``, ``aborted`` (first event read, then closed), ``errors`` (another status, a closed or
failed connection).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from types import FrameType

import orjson

from httpclient import Connection, ProtocolError

THREADS = 4


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = self.aborted = self.errors = 0

    def add(self, started: int = 0, aborted: int = 0, errors: int = 0) -> None:
        with self.lock:
            self.started += started
            self.aborted += aborted
            self.errors += errors


def abort_one(url: str, body: bytes, key: str) -> bool:
    """One stream, closed after its first event; True when that event came."""
    connection = Connection(url)
    seen = bytearray()

    def first_event(data: bytes) -> bool:
        seen.extend(data)
        return b"\n\n" in seen

    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    try:
        timing = connection.request(connection.post_bytes(body, headers), stop_after=first_event)
    finally:
        connection.close()
    return timing.status == 200 and not timing.complete


def worker(
    url: str, body: bytes, keys: list[str], interval: float, stop: threading.Event, counts: Counts
) -> None:
    turn = 0
    next_at = time.monotonic()
    while not stop.is_set():
        counts.add(started=1)
        try:
            ok = abort_one(url, body, keys[turn % len(keys)])
        except (OSError, ProtocolError):
            ok = False
        counts.add(aborted=int(ok), errors=int(not ok))
        turn += 1
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=30.0, help="streams started per second, all threads")
    args = parser.parse_args()
    body = os.environ["BENCH_BODY"].encode()
    keys = [key for key in os.environ.get("BENCH_KEYS", "").split(",") if key]
    stop, counts = threading.Event(), Counts()

    def finish(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    threads = [
        threading.Thread(target=worker, args=(args.url, body, keys, THREADS / args.rate, stop, counts))
        for _ in range(THREADS)
    ]
    for thread in threads:
        thread.start()
        time.sleep(1 / args.rate)  # spread the threads' starts
    while not stop.wait(0.5):
        pass
    for thread in threads:
        thread.join()
    counts_json = {"started": counts.started, "aborted": counts.aborted, "errors": counts.errors}
    sys.stdout.write(orjson.dumps(counts_json).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
