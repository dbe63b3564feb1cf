"""The over-admission bound against a vLLM-like upstream (docs/policies.md, "Reserve, then settle").

The simulator's ``:ignore-eos`` deployments generate like vLLM with a model that never stops on its
own: each of ``n`` choices (``best_of`` sequences for completions) runs to ``max_completion_tokens``,
else ``max_tokens``, else the context length (4096 minus the prompt), and ``usage`` counts them all.
Concurrent calls with n > 1 and no or large maximums must settle within the limit (the simulator's
prompt counts equal the gateway's estimate, so the bound is the limit itself).

Before the reservation counted choices and sent its maximum upstream, the first test admitted 12
calls (7 + 40 tokens each) that then generated 3 × 4089 tokens each, and the second admitted all
20 calls (1 + 40 tokens each) that then generated 4 × 40.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from tests.support import (
    Server,
    Sim,
    apply,
    create_key,
    doc,
    model_doc,
    start_server,
    stop,
    usage_events,
    wait_for,
)

pytestmark = pytest.mark.e2e
HI = [{"role": "user", "content": "hi"}]  # 7 tokens: 3 reply priming + 3 per message + "hi"


@pytest.fixture(scope="module")
def server(database_url: str, sim: Sim) -> Iterator[Server]:
    started = start_server(database_url, extra_env={"HEADWATER_DEFAULT_MAX_TOKENS": "40"})
    apply(
        started,
        doc("User", "vic"),
        doc("User", "bea"),
        model_doc("vllm-like", sim.url, upstream="vllm-like:ignore-eos", max_output_tokens=40),
        doc(
            "Policy",
            "bounded-tokens",
            targets={"users": ["vic"]},
            limits=[{"tokens": 600, "window": "1h"}],
        ),
        doc("Policy", "bounded-budget", targets={"users": ["bea"]}, budget={"amount": "0.0005"}),
    )
    yield started
    stop(started.process)


async def _fire(server: Server, key: str, path: str, body: dict[str, Any], count: int) -> list[int]:
    async with httpx.AsyncClient(
        base_url=server.v1,
        timeout=60,
        limits=httpx.Limits(max_connections=count),
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        responses = await asyncio.gather(*(client.post(path, json=body) for _ in range(count)))
    return [r.status_code for r in responses]


def _settled(server: Server, user: str, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = wait_for(
        lambda: (events := usage_events(server, user=user)) and len(events) == count and events
    )
    return found


def test_choices_without_a_maximum_stay_within_a_token_limit(server: Server) -> None:
    """600 tokens per hour; each call reserves 7 + 3 × 40 (the model's max_output_tokens) = 127."""
    key = create_key(server, owner="user:vic")["key"]
    body = {"model": "vllm-like", "messages": HI, "n": 3}
    statuses = asyncio.run(_fire(server, key, "/chat/completions", body, 20))
    assert (statuses.count(200), statuses.count(429)) == (4, 16)
    events = _settled(server, "vic", 4)
    assert [(e["prompt_tokens"], e["completion_tokens"]) for e in events] == [(7, 120)] * 4
    assert sum(e["prompt_tokens"] + e["completion_tokens"] for e in events) == 508  # <= 600


def test_best_of_with_a_large_maximum_stays_within_a_budget(server: Server) -> None:
    """0.0005 USD; each call reserves 1 + 4 × 40 tokens = 0.20 × 1 + 0.60 × 160 per million = 0.0000962."""
    key = create_key(server, owner="user:bea")["key"]
    body = {"model": "vllm-like", "prompt": "hi", "n": 2, "best_of": 4, "max_tokens": 40}
    statuses = asyncio.run(_fire(server, key, "/completions", body, 20))
    assert (statuses.count(200), statuses.count(429)) == (5, 15)
    events = _settled(server, "bea", 5)
    assert [(e["prompt_tokens"], e["completion_tokens"]) for e in events] == [(1, 160)] * 5
    assert {Decimal(e["cost"]) for e in events} == {Decimal("0.0000962")}
    assert sum(Decimal(e["cost"]) for e in events) == Decimal("0.000481")  # <= 0.0005


def test_a_maximum_above_the_models_is_refused(server: Server) -> None:
    key = create_key(server, owner="user:vic")["key"]
    with (
        openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as sdk,
        pytest.raises(openai.BadRequestError) as refused,
    ):
        sdk.chat.completions.create(model="vllm-like", messages=HI, max_completion_tokens=41)  # type: ignore[arg-type]
    assert refused.value.param == "max_completion_tokens"
    assert "at most 40" in refused.value.message
