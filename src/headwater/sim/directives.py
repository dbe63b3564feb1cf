"""Failure-injection directives carried as suffixes of the requested model name."""

from __future__ import annotations

from dataclasses import dataclass

#: ``:fail-NNN`` suffix -> (status, OpenAI error type, error code, extra headers).
FAILURES: dict[str, tuple[int, str, str, tuple[tuple[bytes, bytes], ...]]] = {
    "fail-400": (400, "invalid_request_error", "simulated_bad_request", ()),
    "fail-401": (401, "authentication_error", "invalid_api_key", ()),
    "fail-429": (429, "rate_limit_error", "rate_limit_exceeded", ((b"retry-after", b"7"),)),
    "fail-500": (500, "server_error", "simulated_server_error", ()),
    "fail-503": (503, "server_error", "service_unavailable", ((b"retry-after", b"7"),)),
}
FLAGS = frozenset({"garbage", "hang", "no-usage", "cut", "ignore-eos"})


@dataclass(frozen=True, slots=True)
class Directives:
    fail: str | None = None
    garbage: bool = False
    hang: bool = False
    no_usage: bool = False
    cut: bool = False
    ignore_eos: bool = False


NONE = Directives()


def parse_model(requested: str) -> tuple[str, Directives]:
    """Split ``requested`` into the model name to echo and its directives.

    Only known directives are stripped, from the right and in any combination, so names such as
    ``llama3:8b`` pass through untouched: ``llama3:8b:no-usage:cut`` echoes ``llama3:8b``.
    """
    if ":" not in requested:
        return requested, NONE
    model = requested
    fail: str | None = None
    flags: set[str] = set()
    while True:
        head, sep, tail = model.rpartition(":")
        if not sep or (tail not in FAILURES and tail not in FLAGS):
            break
        if tail in FAILURES:
            fail = fail or tail
        else:
            flags.add(tail)
        model = head
    if fail is None and not flags:
        return requested, NONE
    return model, Directives(
        fail=fail,
        garbage="garbage" in flags,
        hang="hang" in flags,
        no_usage="no-usage" in flags,
        cut="cut" in flags,
        ignore_eos="ignore-eos" in flags,
    )
