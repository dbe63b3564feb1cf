"""The benchmark's upstream: nginx serving static OpenAI- and Anthropic-shaped responses.

The server's configuration is bench/nginx.conf.template; the bodies are built here.
"""

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
    CLAUDE_MODEL,
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


def _anthropic_usage(output_tokens: int) -> dict[str, Any]:
    """Anthropic's usage block, with the fields the real API sends."""
    return {
        "input_tokens": 14,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def anthropic_message_body() -> bytes:
    """A Messages API answer (``POST /v1/messages``), as in tests/providers/fixtures/anthropic."""
    return orjson.dumps(
        {
            "model": CLAUDE_MODEL,
            "id": "msg_bench000000000000000001",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "Hello there, nice to meet you!"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": _anthropic_usage(8),
        }
    )


def anthropic_stream_body() -> bytes:
    """A Messages API stream: message_start, a text block of the same 10 tokens as stream_body, a ping,
    message_delta (stop reason and usage) and message_stop, each an ``event:`` + ``data:`` pair."""

    def event(name: str, data: dict[str, Any]) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + orjson.dumps({"type": name, **data}) + b"\n\n"

    message: dict[str, Any] = {
        "model": CLAUDE_MODEL,
        "id": "msg_bench000000000000000002",
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _anthropic_usage(1),
    }
    events = [
        event("message_start", {"message": message}),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        event("ping", {}),
    ]
    events += [
        event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": token}})
        for token in TOKENS
    ]
    events.append(event("content_block_stop", {"index": 0}))
    delta = {"stop_reason": "end_turn", "stop_sequence": None}
    events.append(event("message_delta", {"delta": delta, "usage": {"output_tokens": len(TOKENS)}}))
    events.append(event("message_stop", {}))
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
        "@ANTHROPIC_BODY@": nginx_string(anthropic_message_body()),
        "@ANTHROPIC_STREAM_BODY@": nginx_string(anthropic_stream_body()),
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
