"""The benchmark's upstream: nginx serving static OpenAI-shaped responses (bench/nginx.conf.template)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import orjson

from common import (
    BENCH,
    CHAT_MODEL,
    HOST,
    LOAD_CPU,
    STREAM_MODEL,
    Processes,
    Started,
    free_port,
    pinned,
    wait_http,
)

TOKENS = ["Hello", "!", " Nice", " to", " meet", " you", " today", ".", " Hi", "!"]


def chat_completion_body(created: int) -> bytes:
    return orjson.dumps(
        {
            "id": "chatcmpl-bench0000000000000000000001",
            "object": "chat.completion",
            "created": created,
            "model": CHAT_MODEL,
            "system_fingerprint": "fp_bench",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello there, nice to meet you!"},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 14, "completion_tokens": 8, "total_tokens": 22},
        }
    )


def stream_body(created: int) -> bytes:
    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        data = {
            "id": "chatcmpl-bench0000000000000000000002",
            "object": "chat.completion.chunk",
            "created": created,
            "model": STREAM_MODEL,
            "system_fingerprint": "fp_bench",
            "choices": choices,
            **extra,
        }
        return b"data: " + orjson.dumps(data) + b"\n\n"

    def delta(content: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": content, "logprobs": None, "finish_reason": finish}]

    events = [chunk(delta({"role": "assistant", "content": TOKENS[0]}))]
    events += [chunk(delta({"content": token})) for token in TOKENS[1:]]
    events.append(chunk(delta({}, "stop")))
    usage = {"prompt_tokens": 14, "completion_tokens": len(TOKENS), "total_tokens": 14 + len(TOKENS)}
    events.append(chunk([], usage=usage))
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


def nginx_string(body: bytes) -> str:
    """A body as the inside of a single-quoted nginx string (nginx turns \\n back into newlines)."""
    text = body.decode()
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")


def render_nginx_conf(directory: Path, port: int) -> Path:
    created = int(time.time())
    values = {
        "@USER_LINE@": "user root;" if os.geteuid() == 0 else "",  # workers must reach the 0700 temp dir
        "@DIR@": str(directory),
        "@PORT@": str(port),
        "@CHAT_BODY@": nginx_string(chat_completion_body(created)),
        "@STREAM_BODY@": nginx_string(stream_body(created)),
    }
    text = (BENCH / "nginx.conf.template").read_text()
    for name, value in values.items():
        text = text.replace(name, value)
    path = directory / "nginx.conf"
    path.write_text(text)
    return path


def start_nginx(procs: Processes) -> tuple[Started, int]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (procs.directory / sub).mkdir(exist_ok=True)
    conf = render_nginx_conf(procs.directory, port)
    entry = procs.start(
        "nginx",
        pinned(LOAD_CPU, [nginx, "-p", str(procs.directory), "-c", str(conf), "-e", "stderr"]),
    )
    wait_http(f"http://{HOST}:{port}/health", entry, timeout=15)
    return entry, port
