"""Huge texts are estimated off the event loop: they never stall the worker's other calls.

The estimator costs about 60 ns per byte: an 8 MB prompt under a token limit held the event loop for
half a second, a 20 MB answer without usage over a second, during which the worker answered
nobody. Now a large body is estimated in a thread, a chunk at a time, and the worker goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.gateway.hostile import Hostile, hostile_upstream
from tests.support import Server, Sim, apply, create_key, doc, model_doc, start_server, stop

pytestmark = pytest.mark.e2e

PROMPT = "the quick brown fox jumps over the lazy dog " * 160_000  # 7 MB, ~1.8 million tokens


@pytest.fixture(scope="module")
def upstream() -> Iterator[Hostile]:
    with hostile_upstream() as started:
        yield started


@pytest.fixture(scope="module")
def server(database_url: str, sim: Sim, upstream: Hostile) -> Iterator[Server]:
    started = start_server(database_url)
    apply(
        started,
        doc("User", "heavy"),
        model_doc("big-chat", sim.url),
        model_doc("long-answer", upstream.url, upstream="long-no-usage"),
        doc(
            "Policy",
            "heavy-tier",
            assets={"models": "all"},
            targets={"users": ["heavy"]},
            limits=[{"tokens": 100_000_000, "window": "1h", "scope": "user"}],  # needs the estimate
        ),
    )
    yield started
    stop(started.process)


def while_probing(server: Server, call: dict[str, Any]) -> tuple[httpx.Response, float]:
    """Make ``call`` in a thread; meanwhile the longest a /healthz took to answer."""
    key = create_key(server, owner="user:heavy")["key"]
    result: dict[str, httpx.Response] = {}

    def huge_call() -> None:
        result["big"] = httpx.post(
            f"{server.v1}/chat/completions",
            json=call,
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )

    worst = 0.0
    with httpx.Client(timeout=10) as probe:
        probe.get(f"{server.url}/healthz")
        caller = threading.Thread(target=huge_call)
        caller.start()
        while caller.is_alive():
            started = time.monotonic()
            assert probe.get(f"{server.url}/healthz").status_code == 200
            worst = max(worst, time.monotonic() - started)
            time.sleep(0.01)
        caller.join()
    return result["big"], worst


def test_other_calls_are_answered_while_a_huge_prompt_is_estimated(server: Server) -> None:
    call = {"model": "big-chat", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 8}
    big, worst = while_probing(server, call)
    # admitted (its estimate reserved), then refused by the upstream for its length, as vLLM would
    assert big.status_code == 400, big.text
    assert big.json()["error"]["code"] == "context_length_exceeded"
    assert worst < 0.25, f"the worker stalled for {worst:.3f} s"


def test_other_calls_are_answered_while_a_huge_answer_is_estimated(server: Server) -> None:
    call = {"model": "long-answer", "messages": [{"role": "user", "content": "talk"}]}
    big, worst = while_probing(server, call)
    assert big.status_code == 200, big.text[:300]
    assert worst < 0.25, f"the worker stalled for {worst:.3f} s"
