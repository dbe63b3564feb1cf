"""The admin overview: traffic, errors, latency, tokens, cost, limits, upstreams and health."""

from __future__ import annotations

from panels import (
    MODEL,
    MODEL_VARIABLE,
    RATE,
    REQUESTS,
    Dashboard,
    Panel,
    Query,
    Row,
    percentiles,
    rate,
    share,
)

ADMIN_OVERVIEW = Dashboard(
    file="admin-overview",
    title="Headwater: admin overview",
    description="Gateway traffic, errors, latency, tokens, cost, limits, upstreams and the process's health.",
    variables=(MODEL_VARIABLE,),
    rows=(
        Row(
            "Traffic",
            (
                Panel(
                    "requests",
                    "Requests per second",
                    "Calls the gateway admitted and answered, by model.",
                    "timeseries",
                    (Query(rate(REQUESTS, "model"), "{{model}}"),),
                    unit="reqps",
                    width=9,
                ),
                Panel(
                    "error-rate",
                    "Error rate",
                    "Share of answered calls with a 5xx, and with a 4xx (499: the client left).",
                    "timeseries",
                    (Query(share("5xx"), "5xx"), Query(share("4xx"), "4xx")),
                    unit="percentunit",
                    width=9,
                ),
                Panel(
                    "in-flight",
                    "In flight",
                    "Calls admitted and not finished, all workers and replicas.",
                    "stat",
                    (Query("sum(headwater_requests_in_flight)"),),
                    width=6,
                ),
            ),
        ),
        Row(
            "Latency",
            (
                Panel(
                    "duration",
                    "Request duration",
                    "From a call's arrival to the end of its answer.",
                    "timeseries",
                    percentiles("headwater_request_duration_seconds", MODEL),
                    unit="s",
                    width=8,
                ),
                Panel(
                    "ttft",
                    "Time to first token",
                    "Streamed calls: from arrival to the first token.",
                    "timeseries",
                    percentiles("headwater_time_to_first_token_seconds", MODEL),
                    unit="s",
                    width=8,
                ),
                Panel(
                    "tpot",
                    "Time per output token",
                    "Successful streamed calls: (duration - TTFT) / (completion tokens - 1).",
                    "timeseries",
                    percentiles("headwater_time_per_output_token_seconds", MODEL),
                    unit="s",
                    width=8,
                ),
            ),
        ),
        Row(
            "Tokens and cost",
            (
                Panel(
                    "tokens",
                    "Tokens per second",
                    "Prompt and completion tokens of finished calls, by model.",
                    "timeseries",
                    (
                        Query(rate(f"headwater_prompt_tokens_total{{{MODEL}}}", "model"), "{{model}} prompt"),
                        Query(
                            rate(f"headwater_completion_tokens_total{{{MODEL}}}", "model"),
                            "{{model}} completion",
                        ),
                    ),
                ),
                Panel(
                    "cost",
                    "Cost per hour",
                    "At the models' prices; exact amounts are in the usage ledger.",
                    "timeseries",
                    (
                        Query(
                            f"{rate(f'headwater_cost_total{{{MODEL}}}', 'model, currency')} * 3600",
                            "{{model}} {{currency}}",
                        ),
                    ),
                    unit="currency",
                ),
            ),
        ),
        Row(
            "Limits and upstreams",
            (
                Panel(
                    "refusals",
                    "Limit refusals per second",
                    "denied: refused with 429; warned: let through over a soft limit.",
                    "timeseries",
                    (
                        Query(
                            rate("headwater_limit_refusals_total", "reason, action"), "{{reason}} {{action}}"
                        ),
                    ),
                    unit="reqps",
                ),
                Panel(
                    "upstream-errors",
                    "Upstream errors per second",
                    "Failed calls that reached a deployment, by kind (timeout, bad_gateway, throttled, ...).",
                    "timeseries",
                    (
                        Query(
                            rate("headwater_upstream_errors_total", "deployment, kind"),
                            "{{deployment}} {{kind}}",
                        ),
                    ),
                    unit="reqps",
                ),
            ),
        ),
        Row(
            "Health",
            (
                Panel(
                    "snapshot-age",
                    "Snapshot age",
                    "Seconds since the stalest worker confirmed its configuration current (-1: not loaded).",
                    "timeseries",
                    (Query("max(headwater_snapshot_age_seconds)", "age"),),
                    unit="s",
                    width=6,
                ),
                Panel(
                    "revision",
                    "Configuration revision",
                    "Lowest and highest revision served: they differ while a change propagates.",
                    "stat",
                    (
                        Query("min(headwater_snapshot_revision)", "lowest"),
                        Query("max(headwater_snapshot_revision)", "highest"),
                    ),
                    width=6,
                ),
                Panel(
                    "writer-backlog",
                    "Usage writer backlog",
                    "Events waiting for the database, in memory and in the journal on disk.",
                    "timeseries",
                    (
                        Query("sum(headwater_usage_events_pending)", "pending events"),
                        Query("sum(headwater_usage_journal_bytes)", "journal bytes"),
                    ),
                    width=6,
                ),
                Panel(
                    "writer-losses",
                    "Usage events lost or set aside",
                    "Dropped (buffer full, or even the dead letter refused) and kept as dead letters.",
                    "timeseries",
                    (
                        Query(f"sum(increase(headwater_usage_events_dropped_total[{RATE}]))", "dropped"),
                        Query(f"sum(increase(headwater_usage_dead_letters_total[{RATE}]))", "dead letters"),
                        Query(
                            f"sum(increase(headwater_limit_events_dead_letters_total[{RATE}]))",
                            "limit event dead letters",
                        ),
                    ),
                    width=6,
                ),
                Panel(
                    "written",
                    "Usage events written per second",
                    "The batched writer's throughput.",
                    "timeseries",
                    (Query(rate("headwater_usage_events_written_total"), "written"),),
                    width=6,
                ),
                Panel(
                    "limiter",
                    "Shared limiter degraded",
                    "1 while Redis is unreachable and limits are per process; admissions decided so.",
                    "timeseries",
                    (
                        Query("max(headwater_limits_degraded)", "degraded"),
                        Query(rate("headwater_limits_degraded_calls_total"), "fallback admissions/s"),
                    ),
                    width=6,
                ),
                Panel(
                    "loop-lag",
                    "Event-loop stalls",
                    "Longest stall of any worker since its last scrape; the 99th percentile of all samples.",
                    "timeseries",
                    (
                        Query("max(headwater_event_loop_lag_max_seconds)", "longest"),
                        Query(
                            "histogram_quantile(0.99, sum by (le) "
                            f"(rate(headwater_event_loop_lag_seconds_bucket[{RATE}])))",
                            "p99",
                        ),
                    ),
                    unit="s",
                    width=6,
                ),
                Panel(
                    "signin",
                    "Unaudited sign-in failures",
                    "Failed browser sign-ins past the audit rate, per second.",
                    "timeseries",
                    (Query(rate("headwater_signin_failures_unaudited_total"), "failures/s"),),
                    width=6,
                ),
            ),
        ),
    ),
)
