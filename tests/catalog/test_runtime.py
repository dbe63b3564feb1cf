"""Runtime metrics of model servers, end to end: `headwater sim` behind a real Headwater.

Headwater scrapes each deployment's server ``/metrics`` every 0.2 s here. A paced simulator with a
small KV cache runs one large request while another waits; the runtime API, Headwater's
``/metrics`` and the sim's own ``/metrics`` must agree with the work the calls asked for. Servers
that have no metrics, or answer with hostile bodies, must show as such without slowing the worker,
without repeated log lines and without a credential or URL in what users see.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from prometheus_client.parser import text_string_to_metric_families

from headwater.catalog.runtime import RUNTIME_METRIC_NAMES
from headwater.sim.metrics import DEFAULT_KV_CACHE_CONTEXTS
from tests.catalog.metrics_server import MetricsServer, metrics_server
from tests.support import (
    Server,
    Sim,
    apply,
    cli,
    create_key,
    model_doc,
    output,
    start_server,
    start_sim,
    stop,
)

pytestmark = pytest.mark.e2e

INTERVAL_ENV = "HEADWATER_RUNTIME_SCRAPE_INTERVAL_S"
INTERVAL = "0.2"
MAX_MODEL_LEN = 256
CAPACITY = MAX_MODEL_LEN * DEFAULT_KV_CACHE_CONTEXTS  # the sim's KV cache, in tokens
SECRET = "sk-runtime-" + uuid.uuid4().hex
CREDENTIAL_ENV = "HEADWATER_UPSTREAM_RUNTIME_TEST"
T = TypeVar("T")


@pytest.fixture(scope="module")
def paced_sim() -> Iterator[Sim]:
    started = start_sim(ttft_ms=50, tokens_per_second=100, max_model_len=MAX_MODEL_LEN)
    yield started
    stop(started.process)


@pytest.fixture(scope="module")
def hostile() -> Iterator[MetricsServer]:
    with metrics_server() as server:
        yield server


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    env = {INTERVAL_ENV: INTERVAL, CREDENTIAL_ENV: SECRET}
    started = start_server(database_url, extra_env=env)
    yield started
    stop(started.process)


@pytest.fixture
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.admin() as client:
        yield client


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def runtime(admin: httpx.Client, name: str) -> dict[str, Any]:
    response = admin.get(f"/models/{name}/runtime")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def scraped(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a ``/metrics`` body: (name, sorted labels) → value."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def headwater_value(samples: dict[Any, float], name: str, model: str, **labels: str) -> float | None:
    wanted = tuple(sorted({"model": model, "deployment": f"{model}/0", **labels}.items()))
    return samples.get((name, wanted))


def sim_value(sim: Sim, name: str, model: str) -> float | None:
    labels = (("engine", "0"), ("model_name", model))
    return scraped(sim.url.removesuffix("/v1") + "/metrics").get((name, labels))


def test_the_runtime_follows_the_sims_work(server: Server, paced_sim: Sim, admin: httpx.Client) -> None:
    name, upstream = "rt-chat", f"rt-up-{uuid.uuid4().hex[:8]}"
    apply(server, model_doc(name, paced_sim.url, upstream=upstream))
    sdk = openai.OpenAI(base_url=server.v1, api_key=create_key(server)["key"], max_retries=0, timeout=60)
    hello: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there"}]
    warm = sdk.chat.completions.create(model=name, messages=hello, max_tokens=1).usage
    assert warm is not None

    def settled() -> dict[str, Any] | None:
        deployment = runtime(admin, name)["deployments"][0]
        counted = (deployment["prompt_tokens_total"], deployment["generation_tokens_total"])
        done = deployment["up"] and counted == (warm.prompt_tokens, warm.completion_tokens)
        return deployment if done else None

    baseline = wait_for(settled, "the warm-up call in the runtime")
    assert baseline["exposed"] is True and baseline["error"] is None

    seen: list[dict[str, Any]] = []
    watching = threading.Event()

    def watch() -> None:  # every scrape the runtime API shows, for the throughput
        with server.admin() as client:
            while not watching.is_set():
                deployment = runtime(client, name)["deployments"][0]
                if not seen or seen[-1]["scraped_at"] != deployment["scraped_at"]:
                    seen.append(deployment)
                time.sleep(0.03)

    usages: list[Any] = []

    def call() -> None:  # 16 choices of 200 tokens: one such request holds most of the KV cache
        reply = sdk.chat.completions.create(
            model=name,
            messages=hello,
            n=16,
            max_tokens=200,
            extra_body={"ignore_eos": True},
        )
        usages.append(reply.usage)

    watcher = threading.Thread(target=watch)
    watcher.start()
    first, second = threading.Thread(target=call), threading.Thread(target=call)
    first.start()
    wait_for(lambda: sim_value(paced_sim, "vllm:num_requests_running", upstream) == 1 or None, "one running")
    second.start()
    wait_for(lambda: sim_value(paced_sim, "vllm:num_requests_waiting", upstream) == 1 or None, "one waiting")

    def one_running_one_waiting() -> dict[str, Any] | None:
        deployment = runtime(admin, name)["deployments"][0]
        both = deployment["requests_running"] == 1 and deployment["requests_waiting"] == 1
        return deployment if both else None

    middle = wait_for(one_running_one_waiting, "Headwater to see one running and one waiting")
    samples = scraped(f"{server.url}/metrics")
    sim_kv = sim_value(paced_sim, "vllm:kv_cache_usage_perc", upstream)
    first.join(30)
    second.join(30)
    assert len(usages) == 2 and usages[0] == usages[1]
    held = usages[0].prompt_tokens + usages[0].completion_tokens  # prompt and 16 replies, of one request
    assert held > CAPACITY / 2  # so the second one had to wait
    assert middle["kv_cache_usage_ratio"] == pytest.approx(held / CAPACITY)
    assert sim_kv == pytest.approx(held / CAPACITY)
    assert headwater_value(samples, "headwater_model_runtime_up", name) == 1
    assert headwater_value(samples, "headwater_model_requests_running", name) == 1
    assert headwater_value(samples, "headwater_model_requests_waiting", name) == 1
    assert headwater_value(samples, "headwater_model_kv_cache_usage_ratio", name) == pytest.approx(
        held / CAPACITY
    )

    generated = warm.completion_tokens + 2 * usages[0].completion_tokens

    def finished() -> dict[str, Any] | None:
        deployment = runtime(admin, name)["deployments"][0]
        return deployment if deployment["generation_tokens_total"] == generated else None

    after = wait_for(finished, "the calls' tokens in the runtime")
    watching.set()
    watcher.join(10)
    assert after["requests_running"] == 0 and after["requests_waiting"] == 0
    assert after["kv_cache_usage_ratio"] == 0
    assert after["prompt_tokens_total"] == warm.prompt_tokens + 2 * usages[0].prompt_tokens
    ttft = after["time_to_first_token_seconds"]
    assert ttft["count"] == 3
    # The warm-up and the first call had theirs at once, the second after waiting for the first (2 s).
    assert {"le": 1.0, "count": 2} in ttft["buckets"] and ttft["sum"] > 1.0
    samples = scraped(f"{server.url}/metrics")
    assert headwater_value(samples, "headwater_model_generation_tokens_total", name) == generated
    assert (
        headwater_value(samples, "headwater_model_prompt_tokens_total", name) == after["prompt_tokens_total"]
    )
    assert headwater_value(samples, "headwater_model_time_to_first_token_seconds_count", name) == 3
    assert headwater_value(samples, "headwater_model_time_to_first_token_seconds_bucket", name, le="1.0") == 2

    # Throughput: the counter's rate between two successive scrapes, which the watcher saw.
    rates = [d["generation_tokens_per_second"] for d in seen if d["generation_tokens_per_second"]]
    assert rates and max(rates) > 0
    checked = 0
    for before, later in itertools.pairwise(seen):
        elapsed = _seconds(later["scraped_at"]) - _seconds(before["scraped_at"])
        if later["generation_tokens_per_second"] is not None and elapsed < 0.35:  # successive scrapes
            growth = later["generation_tokens_total"] - before["generation_tokens_total"]
            assert later["generation_tokens_per_second"] == pytest.approx(growth / elapsed, rel=0.2, abs=1)
            checked += growth > 0
    assert checked >= 1, [
        (d["scraped_at"], d["generation_tokens_total"], d["generation_tokens_per_second"]) for d in seen
    ]


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


#: behaviour → (up, exposed, error), for servers whose /metrics misbehave.
HOSTILE: dict[str, tuple[bool, bool | None, str | None]] = {
    "notfound": (False, False, "not exposed: no /metrics for Headwater (HTTP 404)"),
    "notvllm": (False, False, "not exposed: no vLLM metrics in the response"),
    "junk": (False, False, "not exposed: no vLLM metrics in the response"),
    "garbage": (False, None, "not Prometheus text (ValueError)"),
    "huge": (False, None, "metrics larger than 4194304 bytes"),
    "declared": (False, None, "metrics larger than 4194304 bytes"),
    "slow": (False, None, "no complete answer within 1 s"),
    "hang": (False, None, "no complete answer within 1 s"),
    "many": (False, None, "more than 10000 samples of the metrics read"),
    "failing": (False, None, "HTTP 503"),
    "redirect": (False, None, "HTTP 302"),
    "gzip": (False, None, "a compressed response, though identity was asked for"),
    "odd": (True, True, None),
    "valid": (True, True, None),
}


def test_servers_without_metrics_or_hostile_ones_are_shown_and_bounded(
    server: Server, hostile: MetricsServer, sim: Sim, admin: httpx.Client
) -> None:
    hostile.redirect_to = sim.url.removesuffix("/v1") + "/metrics"
    hostile.seen.clear()  # the server serves the other backend's run too
    suffix = uuid.uuid4().hex[:6]
    names = {behaviour: f"rt-h-{behaviour}-{suffix}" for behaviour in HOSTILE}
    with_credential = {"credential_env": CREDENTIAL_ENV}  # the valid one has a credential
    documents = [
        model_doc(
            names[b], hostile.base_url(b), upstream="m", deployment=with_credential if b == "valid" else {}
        )
        for b in HOSTILE
    ]
    mixed = f"rt-mixed-{suffix}"  # a server with metrics and one without
    documents.append(model_doc(mixed, sim.url, upstream="sim-chat"))
    documents[-1]["spec"]["deployments"].append(
        model_doc(mixed, hostile.base_url("notfound"))["spec"]["deployments"][0]
    )
    calls = f"rt-calls-{suffix}"
    documents.append(model_doc(calls, sim.url))
    apply(server, *documents)
    applied = time.monotonic()

    # Meanwhile the worker serves calls as fast as ever.
    sdk = openai.OpenAI(base_url=server.v1, api_key=create_key(server)["key"], max_retries=0, timeout=10)
    for _ in range(20):
        started = time.monotonic()
        sdk.chat.completions.create(model=calls, messages=[{"role": "user", "content": "hi"}], max_tokens=4)
        assert time.monotonic() - started < 1.0
    assert httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200

    def all_scraped() -> dict[str, dict[str, Any]] | None:
        found = {b: runtime(admin, names[b])["deployments"][0] for b in HOSTILE}
        return found if all(d["scraped_at"] is not None for d in found.values()) else None

    found = wait_for(all_scraped, "a scrape of every hostile server")
    time.sleep(2.5)  # several more rounds: the failures must not be logged again
    found = {b: runtime(admin, names[b])["deployments"][0] for b in HOSTILE}
    for behaviour, (up, exposed, error) in HOSTILE.items():
        deployment = found[behaviour]
        assert (deployment["up"], deployment["exposed"], deployment["error"]) == (up, exposed, error), (
            behaviour
        )
    assert found["valid"]["requests_running"] == 2 and found["valid"]["requests_waiting"] == 1
    odd = found["odd"]
    assert (odd["requests_running"], odd["requests_waiting"], odd["kv_cache_usage_ratio"]) == (
        None,
        None,
        None,
    )
    assert odd["prompt_tokens_total"] == 1000 and odd["generation_tokens_total"] is None
    assert odd["time_to_first_token_seconds"] is None

    both = runtime(admin, mixed)["deployments"]
    assert [d["deployment"] for d in both] == [f"{mixed}/0", f"{mixed}/1"]
    assert both[0]["up"] is True and both[1]["up"] is False and both[1]["exposed"] is False

    # Not exposed: asked again only every 20 intervals; a failing server at every interval.
    assert len(hostile.requests_for("notfound")) <= 1 + (time.monotonic() - applied) / (20 * float(INTERVAL))
    assert len(hostile.requests_for("failing")) >= 5
    # The credential goes to its own server only, and is never shown or logged; nor are URLs.
    assert {seen.headers.get("authorization") for seen in hostile.requests_for("valid")} == {
        f"Bearer {SECRET}"
    }
    assert {seen.headers.get("authorization") for seen in hostile.requests_for("failing")} == {None}
    shown = json.dumps(found) + httpx.get(f"{server.url}/metrics", timeout=5).text
    logged = output(server.process)
    for text in (shown, logged):
        assert SECRET not in text
    assert "127.0.0.1" not in json.dumps(found)
    for behaviour, (_, exposed, _) in HOSTILE.items():
        if exposed is None:  # failing: one warning when it started failing, none at every scrape
            assert logged.count(f"runtime metrics of deployment {names[behaviour]}/0 could not") == 1, (
                behaviour
            )

    samples = scraped(f"{server.url}/metrics")
    for behaviour, (up, exposed, _) in HOSTILE.items():
        value = headwater_value(samples, "headwater_model_runtime_up", names[behaviour])
        assert value == (None if exposed is False else float(up)), behaviour
    assert headwater_value(samples, "headwater_model_requests_running", names["valid"]) == 2
    assert headwater_value(samples, "headwater_model_requests_running", names["failing"]) is None


def test_metric_names_are_the_ones_exported(server: Server) -> None:
    body = httpx.get(f"{server.url}/metrics", timeout=5).text
    for metric in RUNTIME_METRIC_NAMES:
        assert f"# TYPE {metric} " in body, metric


def test_a_name_ending_in_runtime_stays_reachable(server: Server, sim: Sim, admin: httpx.Client) -> None:
    apply(server, model_doc("rt-route", sim.url), model_doc("rt-route/runtime", sim.url))
    assert admin.get("/models/rt-route%2Fruntime").json()["name"] == "rt-route/runtime"
    assert runtime(admin, "rt-route")["model"] == "rt-route"
    assert runtime(admin, "rt-route%2Fruntime")["model"] == "rt-route/runtime"
    assert admin.get("/models/rt-route/runtime").json()["deployments"][0]["deployment"] == "rt-route/0"
    assert admin.get("/models/rt-nothing/runtime").status_code == 404
    assert admin.get("/models/rt-nothing%2Fruntime").status_code == 404


def test_the_cli_shows_the_runtime(server: Server, sim: Sim, admin: httpx.Client) -> None:
    apply(server, model_doc("rt-cli/model", sim.url, upstream="sim-chat"))
    wait_for(lambda: runtime(admin, "rt-cli%2Fmodel")["deployments"][0]["up"] or None, "a scrape")
    shown = cli("models", "runtime", "rt-cli/model", env=server.cli_env())
    assert shown.returncode == 0, shown.stderr
    assert "rt-cli/model/0" in shown.stdout and " up " in shown.stdout
    as_json = cli("models", "runtime", "rt-cli/model", "--json", env=server.cli_env())
    found = json.loads(as_json.stdout)
    assert found["model"] == "rt-cli/model" and found["scrape_interval_s"] == float(INTERVAL)
    assert found["deployments"][0]["up"] is True
    missing = cli("models", "runtime", "rt-cli/none", env=server.cli_env())
    assert missing.returncode != 0 and "not found" in missing.stderr


def test_an_interval_of_zero_scrapes_nothing(hostile: MetricsServer, tmp_path: Path) -> None:
    # A database of its own: the module's server would scrape the models of its database.
    quiet = start_server(f"sqlite+aiosqlite:///{tmp_path / 'quiet.db'}", extra_env={INTERVAL_ENV: "0"})
    try:
        apply(quiet, model_doc("rt-quiet", hostile.base_url("quiet")))
        time.sleep(1.0)
        with quiet.admin() as client:
            found = runtime(client, "rt-quiet")
        assert found["scrape_interval_s"] == 0
        assert [(d["up"], d["scraped_at"]) for d in found["deployments"]] == [(False, None)]
        assert hostile.requests_for("quiet") == []
        names = {name for name, _ in scraped(f"{quiet.url}/metrics")}
        assert "headwater_model_runtime_up" not in names
        shown = cli("models", "runtime", "rt-quiet", env=quiet.cli_env())
        assert "not scraped" in shown.stdout
    finally:
        stop(quiet.process)
