"""Team usage and cost: by model, and by caller when principal labels are on."""

from __future__ import annotations

from panels import MODEL, MODEL_VARIABLE, REQUESTS, Dashboard, Panel, Query, Row, Variable, rate

PRINCIPAL = 'principal=~"$principal"'

TEAM_USAGE = Dashboard(
    file="team-usage",
    title="Headwater: team usage and cost",
    description="What each model, and each caller (with principal labels on), used and cost.",
    variables=(MODEL_VARIABLE, Variable("principal", "Principal", "headwater_requests_total")),
    rows=(
        Row(
            "By model",
            (
                Panel(
                    "cost-range",
                    "Cost in the time range",
                    "At the models' prices; exact amounts and cost centers are in the usage reports.",
                    "bars",
                    (
                        Query(
                            f"sum by (model, currency) (increase(headwater_cost_total{{{MODEL}}}[$__range]))",
                            "{{model}} {{currency}}",
                        ),
                    ),
                    unit="currency",
                ),
                Panel(
                    "tokens-range",
                    "Tokens in the time range",
                    "Prompt and completion tokens by model.",
                    "bars",
                    (
                        Query(
                            f"sum by (model) (increase(headwater_prompt_tokens_total{{{MODEL}}}[$__range]))",
                            "{{model}} prompt",
                        ),
                        Query(
                            "sum by (model) "
                            f"(increase(headwater_completion_tokens_total{{{MODEL}}}[$__range]))",
                            "{{model}} completion",
                        ),
                    ),
                ),
                Panel(
                    "cost-rate",
                    "Cost per hour",
                    "By model and currency.",
                    "timeseries",
                    (
                        Query(
                            f"{rate(f'headwater_cost_total{{{MODEL}}}', 'model, currency')} * 3600",
                            "{{model}} {{currency}}",
                        ),
                    ),
                    unit="currency",
                ),
                Panel(
                    "requests-rate",
                    "Requests per second",
                    "By model.",
                    "timeseries",
                    (Query(rate(REQUESTS, "model"), "{{model}}"),),
                    unit="reqps",
                ),
            ),
        ),
        Row(
            "By caller (HEADWATER_METRICS_PRINCIPAL_LABELS=true)",
            (
                Panel(
                    "principal-note",
                    "About these panels",
                    "",
                    "text",
                    text=(
                        "The panels of this row need `HEADWATER_METRICS_PRINCIPAL_LABELS=true`, which labels "
                        "requests, tokens and cost with `principal` and `key`: a series per caller, so it is "
                        "off by default. Cost centers and groups are in `headwater usage report`."
                    ),
                    width=24,
                    height=3,
                ),
                Panel(
                    "principal-cost",
                    "Top callers by cost",
                    "The ten principals that cost most in the time range.",
                    "bars",
                    (
                        Query(
                            f"topk(10, sum by (principal, currency) "
                            f"(increase(headwater_cost_total{{{MODEL},{PRINCIPAL}}}[$__range])))",
                            "{{principal}} {{currency}}",
                        ),
                    ),
                    unit="currency",
                ),
                Panel(
                    "principal-tokens",
                    "Top callers by tokens",
                    "The ten principals that used most tokens in the time range.",
                    "bars",
                    (
                        Query(
                            f"topk(10, sum by (principal) "
                            f"(increase(headwater_prompt_tokens_total{{{MODEL},{PRINCIPAL}}}[$__range]) "
                            f"+ on (model, principal, key) "
                            f"increase(headwater_completion_tokens_total{{{MODEL},{PRINCIPAL}}}[$__range])))",
                            "{{principal}}",
                        ),
                    ),
                ),
                Panel(
                    "key-requests",
                    "Requests per second by key",
                    "Each key of the selected principals.",
                    "timeseries",
                    (
                        Query(
                            rate(f"headwater_requests_total{{{MODEL},{PRINCIPAL}}}", "principal, key"),
                            "{{principal}} {{key}}",
                        ),
                    ),
                    unit="reqps",
                    width=24,
                ),
            ),
        ),
    ),
)
