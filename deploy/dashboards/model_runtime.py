"""The model runtime view: self-hosted model servers as Headwater reads their metrics."""

from __future__ import annotations

from panels import MODEL, RATE, REQUESTS, Dashboard, Panel, Query, Row, Variable, percentiles, rate

RUNTIME = 'model=~"$model",deployment=~"$deployment"'

MODEL_RUNTIME = Dashboard(
    file="model-runtime",
    title="Headwater: model runtime",
    description="Self-hosted model servers (vLLM /metrics) as Headwater reads them, and the gateway's view.",
    variables=(
        Variable("model", "Model", "headwater_model_runtime_up"),
        Variable("deployment", "Deployment", 'headwater_model_runtime_up{model=~"$model"}'),
    ),
    rows=(
        Row(
            "Server",
            (
                Panel(
                    "up",
                    "Metrics reachable",
                    "1: the deployment's server answered its last metrics scrape.",
                    "timeseries",
                    (
                        Query(
                            f"max by (model, deployment) (headwater_model_runtime_up{{{RUNTIME}}})",
                            "{{model}} {{deployment}}",
                        ),
                    ),
                    width=8,
                ),
                Panel(
                    "running-waiting",
                    "Requests running and waiting",
                    "In the model server's scheduler.",
                    "timeseries",
                    (
                        Query(
                            f"max by (model, deployment) (headwater_model_requests_running{{{RUNTIME}}})",
                            "{{deployment}} running",
                        ),
                        Query(
                            f"max by (model, deployment) (headwater_model_requests_waiting{{{RUNTIME}}})",
                            "{{deployment}} waiting",
                        ),
                    ),
                    width=8,
                ),
                Panel(
                    "kv-cache",
                    "KV-cache usage",
                    "Share of the server's KV cache in use.",
                    "timeseries",
                    (
                        Query(
                            f"max by (model, deployment) (headwater_model_kv_cache_usage_ratio{{{RUNTIME}}})",
                            "{{deployment}}",
                        ),
                    ),
                    unit="percentunit",
                    width=8,
                ),
            ),
        ),
        Row(
            "Throughput and latency",
            (
                Panel(
                    "generation",
                    "Tokens per second (server)",
                    "Generated and prompt tokens the server processed.",
                    "timeseries",
                    (
                        Query(
                            f"max by (model, deployment) "
                            f"(rate(headwater_model_generation_tokens_total{{{RUNTIME}}}[{RATE}]))",
                            "{{deployment}} generated",
                        ),
                        Query(
                            f"max by (model, deployment) "
                            f"(rate(headwater_model_prompt_tokens_total{{{RUNTIME}}}[{RATE}]))",
                            "{{deployment}} prompt",
                        ),
                    ),
                ),
                Panel(
                    "server-ttft",
                    "Time to first token (server)",
                    "As the model server measures it.",
                    "timeseries",
                    percentiles("headwater_model_time_to_first_token_seconds", RUNTIME, by="deployment"),
                    unit="s",
                ),
                Panel(
                    "gateway-ttft",
                    "Time to first token (gateway)",
                    "As callers see it through Headwater, queueing and network included.",
                    "timeseries",
                    percentiles("headwater_time_to_first_token_seconds", MODEL),
                    unit="s",
                ),
                Panel(
                    "gateway-requests",
                    "Gateway requests per second",
                    "Calls Headwater answered for these models, by status class.",
                    "timeseries",
                    (Query(rate(REQUESTS, "model, status_class"), "{{model}} {{status_class}}"),),
                    unit="reqps",
                ),
            ),
        ),
    ),
)
