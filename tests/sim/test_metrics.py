"""The simulator's ``/metrics``: vLLM's names, with the figures of the work it did.

Driven over HTTP (the ASGI app in process): requests run at once while they fit (``max_num_seqs``,
the KV cache), wait otherwise, and ``/metrics`` shows them running or waiting, the KV cache they
hold, their time to first token, tokens and outcomes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from headwater.sim.app import create_sim_app
from headwater.sim.config import SimConfig
from headwater.sim.metrics import MAX_MODELS, OTHER_MODELS, SimEngine

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def _client(engine: SimEngine, **config: Any) -> httpx.AsyncClient:
    app = create_sim_app(SimConfig(**config), engine)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim", timeout=30)


@pytest.fixture
async def paced() -> AsyncIterator[tuple[httpx.AsyncClient, SimEngine]]:
    """One request at a time, 10 ms a token."""
    engine = SimEngine(kv_cache_tokens=100_000, max_num_seqs=1)
    async with await _client(engine, ttft_ms=0, tokens_per_second=100) as client:
        yield client, engine


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, model: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted({"model_name": model, "engine": "0", **labels}.items()))))


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.005)


def chat(model: str, **body: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hello"}], **body}


async def test_a_request_beyond_max_num_seqs_waits(paced: tuple[httpx.AsyncClient, SimEngine]) -> None:
    client, _ = paced
    body = chat("m", max_tokens=30, ignore_eos=True)
    first = asyncio.create_task(client.post("/v1/chat/completions", json=body))

    async def running() -> bool:
        return value(await scrape(client), "vllm:num_requests_running", "m") == 1

    await until(running)
    second = asyncio.create_task(client.post("/v1/chat/completions", json=body))

    async def waiting() -> bool:
        return value(await scrape(client), "vllm:num_requests_waiting", "m") == 1

    await until(waiting)
    replies = [(await first).json(), (await second).json()]
    samples = await scrape(client)
    assert value(samples, "vllm:num_requests_running", "m") == 0
    assert value(samples, "vllm:num_requests_waiting", "m") == 0
    assert value(samples, "vllm:request_success_total", "m", finished_reason="length") == 2
    prompt = sum(reply["usage"]["prompt_tokens"] for reply in replies)
    generated = sum(reply["usage"]["completion_tokens"] for reply in replies)
    assert value(samples, "vllm:prompt_tokens_total", "m") == prompt
    assert value(samples, "vllm:generation_tokens_total", "m") == generated == 60
    assert value(samples, "vllm:time_to_first_token_seconds_count", "m") == 2
    # The second waited for the first's 30 tokens (0.29 s) before its own first token.
    assert value(samples, "vllm:time_to_first_token_seconds_bucket", "m", le="0.1") == 1
    assert (value(samples, "vllm:time_to_first_token_seconds_sum", "m") or 0) > 0.25


async def test_the_kv_cache_holds_prompt_and_reply_and_makes_the_next_wait() -> None:
    engine = SimEngine(kv_cache_tokens=100, max_num_seqs=256, models=("sim-chat",))
    async with await _client(engine, ttft_ms=0, tokens_per_second=100) as client:
        body = chat("kv", max_tokens=60, ignore_eos=True)
        first = asyncio.create_task(client.post("/v1/chat/completions", json=body))

        async def holding() -> bool:
            return value(await scrape(client), "vllm:num_requests_running", "kv") == 1

        await until(holding)
        second = asyncio.create_task(client.post("/v1/chat/completions", json=body))
        await asyncio.sleep(0.1)
        samples = await scrape(client)
        usage = (await first).json()["usage"]
        assert value(samples, "vllm:num_requests_waiting", "kv") == 1  # 2 × (prompt + 60) > 100
        assert value(samples, "vllm:kv_cache_usage_perc", "kv") == pytest.approx(usage["total_tokens"] / 100)
        assert value(samples, "vllm:kv_cache_usage_perc", "sim-chat") == value(
            samples, "vllm:kv_cache_usage_perc", "kv"
        )  # one cache for the server
        await second
        samples = await scrape(client)
        assert value(samples, "vllm:kv_cache_usage_perc", "kv") == 0
        assert value(samples, "vllm:num_requests_waiting", "kv") == 0


async def test_a_request_larger_than_the_cache_runs_alone() -> None:
    engine = SimEngine(kv_cache_tokens=10, max_num_seqs=256)
    async with await _client(engine, ttft_ms=0, tokens_per_second=0) as client:
        reply = await client.post("/v1/chat/completions", json=chat("big", max_tokens=50, ignore_eos=True))
        assert reply.status_code == 200
        assert value(await scrape(client), "vllm:request_success_total", "big", finished_reason="length") == 1


async def test_a_client_that_leaves_is_an_abort_and_frees_its_place(
    paced: tuple[httpx.AsyncClient, SimEngine],
) -> None:
    client, _ = paced
    first = asyncio.create_task(client.post("/v1/chat/completions", json=chat("gone", max_tokens=20)))

    async def running() -> bool:
        return value(await scrape(client), "vllm:num_requests_running", "gone") == 1

    await until(running)
    waiting = asyncio.create_task(client.post("/v1/chat/completions", json=chat("gone", max_tokens=20)))
    await asyncio.sleep(0.05)
    waiting.cancel()  # the client leaves while its request waits
    await asyncio.gather(waiting, return_exceptions=True)
    samples = await scrape(client)
    assert value(samples, "vllm:num_requests_waiting", "gone") == 0
    assert value(samples, "vllm:request_success_total", "gone", finished_reason="abort") == 1
    first.cancel()  # and the running one
    await asyncio.gather(first, return_exceptions=True)
    samples = await scrape(client)
    assert value(samples, "vllm:num_requests_running", "gone") == 0
    assert value(samples, "vllm:request_success_total", "gone", finished_reason="abort") == 2
    assert value(samples, "vllm:generation_tokens_total", "gone") == 0
    third = await client.post("/v1/chat/completions", json=chat("gone", max_tokens=5))
    assert third.status_code == 200  # the places were given back


def test_a_cut_reply_is_an_abort(http: httpx.Client) -> None:
    model = f"cut-{uuid.uuid4().hex[:8]}"
    with pytest.raises(httpx.HTTPError):  # the server drops the connection mid-body
        http.post("/v1/chat/completions", json=chat(f"{model}:cut", stream=True)).read()
    samples = parse(http.get("/metrics").text)
    assert value(samples, "vllm:request_success_total", model, finished_reason="abort") == 1
    assert value(samples, "vllm:request_success_total", model, finished_reason="stop") == 0


async def test_the_listed_models_are_there_from_the_start_and_names_are_bounded() -> None:
    engine = SimEngine(kv_cache_tokens=1000, max_num_seqs=256, models=("sim-chat", "sim-embed"))
    async with await _client(engine, ttft_ms=0, tokens_per_second=0) as client:
        samples = await scrape(client)
        assert value(samples, "vllm:num_requests_running", "sim-chat") == 0
        assert value(samples, "vllm:kv_cache_usage_perc", "sim-embed") == 0
        for n in range(MAX_MODELS + 5):
            reply = await client.post(
                "/v1/completions", json={"model": f"x{n}", "prompt": "hi", "max_tokens": 1}
            )
            assert reply.status_code == 200
        samples = await scrape(client)
        names = {
            dict(labels)["model_name"] for name, labels in samples if name == "vllm:num_requests_running"
        }
        assert len(names) == MAX_MODELS + 1 and OTHER_MODELS in names
        assert value(samples, "vllm:request_success_total", OTHER_MODELS, finished_reason="length") == 7
