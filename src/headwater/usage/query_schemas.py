"""Schemas of the usage queries (summary, time series, top, report) of the admin API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from headwater.names import Amount


class Cost(BaseModel):
    amount: Amount = Field(description="Exact, as a decimal string.")
    currency: str


class Percentiles(BaseModel):
    p50: float | None = Field(description="Milliseconds; null when nothing was measured.")
    p95: float | None


class Measured(BaseModel):
    """What every usage answer reports for a set of calls."""

    requests: int
    successes: int
    success_rate: float | None = Field(description="successes / requests (0..1); null for no request.")
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    costs: list[Cost] = Field(description="One entry per currency: never summed across currencies.")
    latency_ms: Percentiles = Field(description="Whole-call latency, from fixed histogram buckets.")
    ttft_ms: Percentiles = Field(description="Time to first token (streamed calls).")


class SummaryRow(Measured):
    dimensions: dict[str, str] = Field(description="The value of each `by` dimension.")


class Summary(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    by: list[str]
    totals: Measured
    rows: list[SummaryRow] = Field(
        description="Ordered by requests (most first), then by the dimensions' values. A call counts in "
        "each of its groups: group rows may add up to more than the totals."
    )


class Point(Measured):
    time: datetime = Field(description="The step's start; the first and last may be partly in the range.")


class Series(BaseModel):
    dimensions: dict[str, str]
    points: list[Point]


class Timeseries(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    step: str
    series: list[Series]


class TopItem(Measured):
    name: str
    value: int | Amount = Field(description="The ranked metric: a decimal string for cost, else an integer.")


class Top(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    dimension: str
    metric: str
    currency: str | None = Field(description="The currency ranked by (metric cost); null otherwise.")
    items: list[TopItem]


class ReportRow(BaseModel):
    """One row per (dimension values, currency); each `by` dimension is a field of its own
    (e.g. `costCenter`)."""

    model_config = ConfigDict(extra="allow")

    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: Amount = Field(description="Exact (not rounded).")
    currency: str


class ReportTotal(BaseModel):
    currency: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: Amount


class Report(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    period: str | None = Field(description="The period asked for; null for from/to.")
    from_: datetime = Field(alias="from")
    to: datetime
    by: list[str]
    rows: list[ReportRow]
    totals: list[ReportTotal] = Field(description="Per currency, each call once (whatever its groups).")
