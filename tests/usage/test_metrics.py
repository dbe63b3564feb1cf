"""/metrics after known calls: each request metric family holds exactly what the calls did.

Real `headwater serve` and `headwater sim` processes; the calls go through the OpenAI SDK and the
expected figures come from the usage events the admin API returns for the same calls.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from prometheus_client.utils import floatToGoString

from headwater.request_metrics import DURATION_BUCKETS_S
from tests.gateway.hostile import Hostile, hostile_upstream
from tests.support import (
    Server,
    Sim,
    apply,
    create_key,
    database,
    doc,
    model_doc,
    start_server,
    stop,
    usage_events,
    wait_for,
)
from tests.usage.scrape import Scrape, scrape

pytestmark = pytest.mark.e2e

#: The usage store keeps milliseconds to three decimals: up to half a microsecond off per call.
MS_ROUNDING = 0.5e-6
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Where do rivers begin?"}]


def policy(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "headwater/v1", "kind": "Policy", "metadata": {"name": name}, "spec": spec}


@pytest.fixture(scope="module")
def upstream() -> Iterator[Hostile]:
    with hostile_upstream() as started:
        yield started


@pytest.fixture(scope="module")
def world(server: Server, sim: Sim, upstream: Hostile) -> Server:
    apply(
        server,
        doc("User", "wendy"),
        model_doc("m-chat", sim.url),
        model_doc("m-embed", sim.url, kind="embedding"),
        model_doc("m-limited", sim.url, limits=[{"requests": 1, "window": "1h"}]),
        model_doc("m-soft", sim.url),
        model_doc("m-throttled", sim.url, upstream="x:fail-429"),
        model_doc("m-broken", sim.url, upstream="x:fail-500"),
        model_doc("m-refused", sim.url, upstream="x:fail-400"),
        model_doc("m-slow", sim.url, upstream="x:hang", deployment={"timeout": 0.5}),
        model_doc("m-drip", upstream.url, upstream="sse-drip"),
        policy(
            "wendy-soft",
            assets={"models": ["m-soft"]},
            targets={"users": ["wendy"]},
            limits=[{"requests": 1, "window": "1h"}],
            overLimit="soft",
        ),
    )
    return server


@pytest.fixture(scope="module")
def key(world: Server) -> str:
    created: str = create_key(world, name="metrics")["key"]
    return created


@pytest.fixture
def client(world: Server, key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=world.v1, api_key=key, max_retries=0) as sdk:
        yield sdk


def settled(server: Server, model: str, calls: int) -> tuple[Scrape, list[dict[str, Any]]]:
    """A scrape and the usage events, once both hold all ``calls`` of ``model``."""
    events = wait_for(lambda: (found := usage_events(server, model=model)) and len(found) >= calls and found)
    assert len(events) == calls
    found = wait_for(
        lambda: (s := scrape(server.url)) and s.value("headwater_requests_total", model=model) >= calls and s
    )
    return found, events


def test_requests_tokens_cost_and_latency_of_successful_calls(world: Server, client: openai.OpenAI) -> None:
    for _ in range(3):
        client.chat.completions.create(model="m-chat", messages=MESSAGES)
    for _ in range(2):
        for _chunk in client.chat.completions.create(model="m-chat", messages=MESSAGES, stream=True):
            pass
    client.embeddings.create(model="m-embed", input="headwaters")

    metrics, events = settled(world, "m-chat", 5)
    assert metrics.value("headwater_requests_total", model="m-chat", endpoint="chat", status_class="2xx") == 5
    assert metrics.series("headwater_requests_total")[0].keys() == {"model", "endpoint", "status_class"}
    assert metrics.value("headwater_prompt_tokens_total", model="m-chat") == sum(
        e["prompt_tokens"] for e in events
    )
    completion = sum(e["completion_tokens"] for e in events)
    assert completion > 10
    assert metrics.value("headwater_completion_tokens_total", model="m-chat") == completion
    cost = sum(Decimal(e["cost"]) for e in events)
    assert cost > 0
    assert metrics.value("headwater_cost_total", model="m-chat", currency="USD") == pytest.approx(float(cost))

    duration = {"model": "m-chat", "endpoint": "chat"}
    assert metrics.value("headwater_request_duration_seconds_count", **duration) == 5
    assert metrics.value("headwater_request_duration_seconds_sum", **duration) == pytest.approx(
        sum(e["latency_ms"] for e in events) / 1000.0, abs=MS_ROUNDING * len(events)
    )
    streamed = [e for e in events if e["streamed"]]
    assert len(streamed) == 2 and all(e["ttft_ms"] is not None for e in streamed)
    assert metrics.value("headwater_time_to_first_token_seconds_count", model="m-chat") == 2
    assert metrics.value("headwater_time_to_first_token_seconds_sum", model="m-chat") == pytest.approx(
        sum(e["ttft_ms"] for e in streamed) / 1000.0, abs=MS_ROUNDING * len(streamed)
    )
    per_token = [(e["latency_ms"] - e["ttft_ms"]) / 1000.0 / (e["completion_tokens"] - 1) for e in streamed]
    assert metrics.value("headwater_time_per_output_token_seconds_count", model="m-chat") == 2
    assert metrics.value("headwater_time_per_output_token_seconds_sum", model="m-chat") == pytest.approx(
        sum(per_token), abs=2 * MS_ROUNDING * len(streamed)
    )
    # each bucket counts the calls at most that long, the last one every call
    for bound in (*DURATION_BUCKETS_S, math.inf):
        at_most = sum(e["latency_ms"] / 1000.0 <= bound for e in events)
        le = floatToGoString(bound)  # type: ignore[no-untyped-call]
        assert metrics.value("headwater_request_duration_seconds_bucket", le=le, **duration) == at_most, le
    assert metrics.value("headwater_request_duration_seconds_bucket", le="+Inf", **duration) == 5

    embeddings, _ = settled(world, "m-embed", 1)
    assert embeddings.value("headwater_requests_total", model="m-embed", endpoint="embeddings") == 1
    assert embeddings.value("headwater_completion_tokens_total", model="m-embed") == 0
    assert embeddings.value("headwater_time_to_first_token_seconds_count", model="m-embed") == 0


@pytest.mark.parametrize(
    ("model", "error", "status_class", "kind"),
    [
        ("m-throttled", openai.RateLimitError, "4xx", "throttled"),
        ("m-broken", openai.APIStatusError, "5xx", "bad_gateway"),
        ("m-refused", openai.BadRequestError, "4xx", "upstream_4xx"),
        ("m-slow", openai.APIStatusError, "5xx", "timeout"),
    ],
)
def test_upstream_errors_by_deployment_and_kind(
    world: Server, client: openai.OpenAI, model: str, error: type[Exception], status_class: str, kind: str
) -> None:
    with pytest.raises(error):
        client.chat.completions.create(model=model, messages=MESSAGES)
    metrics, events = settled(world, model, 1)
    deployment = events[0]["deployment"]
    assert deployment
    assert metrics.value("headwater_requests_total", model=model, status_class=status_class) == 1
    assert metrics.value("headwater_upstream_errors_total", deployment=deployment) == 1
    assert metrics.value("headwater_upstream_errors_total", deployment=deployment, kind=kind) == 1


def test_limit_refusals_by_reason_and_action(world: Server, client: openai.OpenAI) -> None:
    before = scrape(world.url)
    client.chat.completions.create(model="m-limited", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m-limited", messages=MESSAGES)
    wendy = create_key(world, owner="user:wendy")["key"]
    with openai.OpenAI(base_url=world.v1, api_key=wendy, max_retries=0) as soft:
        for _ in range(3):  # over the soft limit twice: warned, not refused
            soft.chat.completions.create(model="m-soft", messages=MESSAGES)

    def grew(reason: str, action: str) -> float:
        now = scrape(world.url).value("headwater_limit_refusals_total", reason=reason, action=action)
        return now - before.value("headwater_limit_refusals_total", reason=reason, action=action)

    wait_for(lambda: grew("rate", "warned") == 2)
    assert grew("rate", "denied") == 1
    metrics, _ = settled(world, "m-limited", 1)  # a refused call is no request of the model
    assert metrics.value("headwater_requests_total", model="m-limited") == 1


def test_calls_in_flight(world: Server, key: str) -> None:
    body = {"model": "m-drip", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    headers = {"Authorization": f"Bearer {key}"}
    with (
        httpx.Client(timeout=20) as http,
        http.stream("POST", f"{world.v1}/chat/completions", json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        while not next(lines).startswith("data:"):
            pass
        assert scrape(world.url).value("headwater_requests_in_flight") == 1
    wait_for(lambda: scrape(world.url).value("headwater_requests_in_flight") == 0)
    metrics, _ = settled(world, "m-drip", 1)
    assert metrics.value("headwater_requests_total", model="m-drip", status_class="4xx") == 1  # 499: left


def test_process_health_metrics(world: Server, client: openai.OpenAI) -> None:
    client.chat.completions.create(model="m-chat", messages=MESSAGES)

    def written(s: Scrape) -> bool:
        return (
            s.value("headwater_usage_events_written_total") >= 1
            and s.value("headwater_usage_events_pending") == 0
            # everything is in the database: nothing waits in the journal (marked just after)
            and s.value("headwater_usage_journal_bytes") == 0
        )

    metrics = wait_for(lambda: (s := scrape(world.url)) and written(s) and s)
    assert metrics.value("headwater_snapshot_revision") >= 1
    assert 0 <= metrics.value("headwater_snapshot_age_seconds") < 5
    for name in (
        "headwater_usage_events_dropped_total",
        "headwater_usage_dead_letters_total",
        "headwater_limit_events_dead_letters_total",
        "headwater_limits_degraded",
        "headwater_limits_degraded_calls_total",
        "headwater_signin_failures_unaudited_total",
    ):
        assert metrics.value(name) == 0, name
    assert metrics.value("headwater_usage_journal_failures_total") == 0
    assert metrics.value("headwater_usage_retention_failures_total") == 0
    assert metrics.value("headwater_usage_retention_deleted_rows_total") == 0  # nothing old yet
    assert metrics.series("headwater_usage_journal_bytes") == [{}]
    assert metrics.value("headwater_event_loop_lag_seconds_count") > 0
    assert math.isfinite(metrics.value("headwater_event_loop_lag_max_seconds"))
    assert metrics.types["headwater_requests"] == "counter"
    assert metrics.types["headwater_requests_in_flight"] == "gauge"
    assert metrics.types["headwater_request_duration_seconds"] == "histogram"


def test_principal_and_key_labels_when_enabled(sim: Sim, tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url:
        server = start_server(url, extra_env={"HEADWATER_METRICS_PRINCIPAL_LABELS": "true"})
        try:
            apply(server, doc("User", "pat"), model_doc("p-chat", sim.url))
            created = create_key(server, owner="user:pat")
            with openai.OpenAI(base_url=server.v1, api_key=created["key"], max_retries=0) as sdk:
                sdk.chat.completions.create(model="p-chat", messages=MESSAGES)
            metrics, events = settled(server, "p-chat", 1)
        finally:
            stop(server.process)
    who = {"principal": "user:pat", "key": created["id"]}
    assert (events[0]["principal"], events[0]["key_id"]) == (who["principal"], who["key"])
    assert metrics.series("headwater_requests_total") == [
        {"model": "p-chat", "endpoint": "chat", "status_class": "2xx", **who}
    ]
    assert metrics.value("headwater_prompt_tokens_total", **who) == events[0]["prompt_tokens"]
    assert metrics.value("headwater_completion_tokens_total", **who) == events[0]["completion_tokens"]
    assert metrics.value("headwater_cost_total", currency="USD", **who) == pytest.approx(
        float(events[0]["cost"])
    )
    assert metrics.series("headwater_request_duration_seconds_count") == [
        {"model": "p-chat", "endpoint": "chat"}
    ]
