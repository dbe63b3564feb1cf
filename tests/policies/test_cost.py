"""Cost with asymmetric prices, to the exact figure, and a budget that admits exactly N calls.

Input costs 0.15 and output 0.60 per million tokens. The prompt ``a b c … n`` (14 one-letter words)
in one user message is 3 (reply priming) + 3 (message) + 14 = 20 tokens; ``max_tokens: 5`` cuts the
simulator's reply (at least 8 words) to 5. One call: (0.15 × 20 + 0.60 × 5) / 1e6 = 0.000006 USD
(with the prices swapped it would be 0.00001275).
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.support import Server, Sim, apply, create_key, doc, model_doc, usage_events, wait_for

pytestmark = pytest.mark.e2e
PROMPT = "a b c d e f g h i j k l m n"


def test_asymmetric_prices_and_an_exact_budget(server: Server, sim: Sim) -> None:
    priced = model_doc("priced", sim.url)
    priced["spec"]["pricing"] = {"input_per_million": "0.15", "output_per_million": "0.60", "currency": "USD"}
    apply(
        server,
        doc("User", "cleo"),
        priced,
        doc("Policy", "ten-calls", targets={"users": ["cleo"]}, budget={"amount": "0.00006"}),
    )
    key = create_key(server, owner="user:cleo")["key"]
    body = {"model": "priced", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 5}
    with httpx.Client(base_url=server.v1, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        statuses = [client.post("/chat/completions", json=body).status_code for _ in range(11)]
        assert statuses == [200] * 10 + [429]  # 10 × 0.000006 = 0.00006: exactly the budget
        refused = client.post("/chat/completions", json=body).json()["error"]
    assert refused["code"] == "insufficient_quota"
    events = wait_for(lambda: (found := usage_events(server, user="cleo")) and len(found) == 10 and found)
    assert {(e["prompt_tokens"], e["completion_tokens"]) for e in events} == {(20, 5)}
    assert {Decimal(e["cost"]) for e in events} == {Decimal("0.000006")}
    assert sum(Decimal(e["cost"]) for e in events) == Decimal("0.00006")
