"""What admission on the memory limiter costs per call: ``Admission.admit`` + ``Admission.settle``.

The bench's policy (a request limit and a token limit over a rolling hour, scope user) on a user's key,
the bench's chat request (its prompt estimated for the token limit), the memory limiter: the CPU µs
per admit + settle pair, in-process (``time.process_time``), no HTTP around it. Issue 16 measured
each admission change with it (docs/benchmarks.md).

    .venv/bin/python bench/admission_micro.py [--calls 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from decimal import Decimal
from types import MappingProxyType

from headwater.gateway.admission import Admission
from headwater.limits.memory import MemoryLimiter
from headwater.policies.schemas import PolicySpec
from headwater.snapshot import KeyView, ModelView, PolicyView, Pricing, Snapshot

LIMITS = [
    {"requests": 100_000_000, "window": "1h", "scope": "user"},
    {"tokens": 100_000_000_000, "window": "1h", "scope": "user"},
]
PAYLOAD = {
    "model": "m",
    "messages": [{"role": "user", "content": "Say hello in five words."}],
    "max_tokens": 16,
}


async def measure(calls: int, rounds: int) -> list[float]:
    spec = PolicySpec.model_validate(
        {"targets": {"users": ["ann"]}, "assets": {"models": "all"}, "limits": LIMITS}
    )
    policy = PolicyView("bench-tier", spec, None, frozenset(), frozenset({"ann"}), frozenset())
    snapshot = Snapshot(1, MappingProxyType({}), MappingProxyType({}), (policy,), MappingProxyType({}))
    model = ModelView("m", "chat", "open", "active", Pricing(Decimal("0.2"), Decimal("0.6"), "USD"), (), 0)
    key = KeyView("k1", "hash", "k", "user:ann", None, "active", None)
    admission = Admission(MemoryLimiter(), default_max_tokens=4096, events=lambda event: None)
    results = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            ticket = await admission.admit(snapshot, key, model, PAYLOAD, "r", [], 100)
            assert ticket is not None
            await admission.settle(ticket, 14, 8, Decimal("0.0000076"))
        results.append(1e6 * (time.process_time() - started) / calls)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(measure(args.calls, args.rounds))
    print(
        f"admit + settle, memory limiter: {min(results):.1f} CPU µs per call (rounds: "
        + ", ".join(f"{r:.1f}" for r in results)
        + ")"
    )


if __name__ == "__main__":
    main()
