"""``GET /api/v1/models/{name}/runtime``: what the model's servers last reported, per deployment."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from headwater.catalog.runtime import DeploymentRuntime
from headwater.catalog.runtime_read import Histogram


class BucketRead(BaseModel):
    le: float = Field(description="Upper bound, in seconds.")
    count: float = Field(description="Observations at or below the bound (cumulative).")


class HistogramRead(BaseModel):
    buckets: list[BucketRead] = Field(description="Finite bounds, ascending; count is the +Inf bucket.")
    count: float
    sum: float


class DeploymentRuntimeRead(BaseModel):
    deployment: str
    up: bool = Field(description="The server's metrics were read at the last scrape.")
    exposed: bool | None = Field(
        description="True: the server shows vLLM metrics; false: it answered without them; "
        "null: not known yet."
    )
    scraped_at: datetime | None = Field(description="The last scrape (null: not scraped yet).")
    error: str | None = Field(description="Why the last scrape found no figures.")
    requests_running: float | None = None
    requests_waiting: float | None = None
    kv_cache_usage_ratio: float | None = Field(None, description="0 to 1.")
    time_to_first_token_seconds: HistogramRead | None = None
    prompt_tokens_total: float | None = None
    generation_tokens_total: float | None = None
    generation_tokens_per_second: float | None = Field(
        None, description="The generation counter's rate between the last two scrapes."
    )


class ModelRuntimeRead(BaseModel):
    model: str
    scrape_interval_s: float = Field(description="HEADWATER_RUNTIME_SCRAPE_INTERVAL_S; 0: not scraped.")
    deployments: list[DeploymentRuntimeRead]


def _histogram(histogram: Histogram | None) -> HistogramRead | None:
    if histogram is None:
        return None
    buckets = [BucketRead(le=bound, count=count) for bound, count in histogram.buckets]
    return HistogramRead(buckets=buckets, count=histogram.count, sum=histogram.sum)


def deployment_read(runtime: DeploymentRuntime) -> DeploymentRuntimeRead:
    reading = runtime.reading
    scraped_at = None if runtime.scraped_at is None else datetime.fromtimestamp(runtime.scraped_at, UTC)
    return DeploymentRuntimeRead(
        deployment=runtime.deployment,
        up=runtime.up,
        exposed=runtime.exposed,
        scraped_at=scraped_at,
        error=runtime.error,
        requests_running=reading.running,
        requests_waiting=reading.waiting,
        kv_cache_usage_ratio=reading.kv_cache_usage,
        time_to_first_token_seconds=_histogram(reading.time_to_first_token),
        prompt_tokens_total=reading.prompt_tokens,
        generation_tokens_total=reading.generation_tokens,
        generation_tokens_per_second=runtime.generation_tokens_per_second,
    )


def model_runtime_read(name: str, interval_s: float, runtimes: list[DeploymentRuntime]) -> ModelRuntimeRead:
    return ModelRuntimeRead(
        model=name, scrape_interval_s=interval_s, deployments=[deployment_read(r) for r in runtimes]
    )
