"""Counters of model names with ``:`` and ``/`` never collide.

A model's capacity counters are keyed by its name, which may now hold ``:`` (the separator of the
counter keys) and ``/``. Two different (model, metric, window) triples must never compose to the same
key, nor a model's key to a policy's or a key's counter: a shared counter would let one model's
traffic exhaust another's capacity (or a caller's own limit). Checked on the keys a plan composes
(every model, policy and key rule) and end to end on the memory and the Redis limiters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import openai
import pytest
import redis
from hypothesis import example, given
from hypothesis import strategies as st

from headwater.catalog.schemas import ModelLimit
from headwater.keys.schemas import KeyLimits
from headwater.names import MODEL_NAME_MAX, MODEL_NAME_PATTERN
from headwater.policies.plan import plan
from headwater.policies.schemas import PolicySpec
from headwater.snapshot import KeyView, ModelView, PolicyView, Pricing, Snapshot
from tests.support import REDIS_URL, Server, Sim, create_key, model_doc, redis_env, start_server, stop

#: The words other counter keys are made of, so that names can imitate them.
WORDS = ["m", "p", "k", "u", "g", "all", "cost", "requests", "tokens", "60", "3600", "1", "tier", "user"]
WORDS += ["ann", "devs", "k1", "a", "b"]
POLICY_LIMITS = [
    {"requests": 5, "tokens": 50, "window": "1m", "scope": scope}
    for scope in ("user", "key", "group", "policy")
]
MODEL_LIMITS = (ModelLimit(requests=1, tokens=10, window="1m"), ModelLimit(requests=2, window="1h"))


def _segment(words: list[str], colons: list[bool]) -> str:
    return "".join(word + (":" if colon else ".") for word, colon in zip(words, colons, strict=False))[:-1]


segments = st.builds(
    _segment, st.lists(st.sampled_from(WORDS), min_size=1, max_size=6), st.lists(st.booleans(), min_size=6)
)
model_names = (
    st.lists(segments, min_size=1, max_size=3)
    .map("/".join)
    .filter(lambda name: len(name) <= MODEL_NAME_MAX and re.fullmatch(MODEL_NAME_PATTERN, name) is not None)
)


def _model(name: str) -> ModelView:
    pricing = Pricing(Decimal(1), Decimal(1), "USD")
    return ModelView(name, "chat", "open", "active", pricing, (), 0, limits=MODEL_LIMITS)


def _snapshot() -> Snapshot:
    spec = PolicySpec.model_validate(
        {
            "assets": {"models": "all"},
            "targets": {"users": ["ann"]},
            "limits": POLICY_LIMITS,
            "budget": {"amount": "5", "currency": "USD", "scope": "user"},
        }
    )
    tier = PolicyView("tier", spec, None, frozenset(), frozenset({"ann"}), frozenset())
    memberships = MappingProxyType({"user:ann": ("devs",)})
    return Snapshot(1, policies=(tier,), memberships=memberships)


def _meanings(name: str) -> dict[str, tuple[str, ...]]:
    """Counter key → what it counts, for every rule admitting a call of ``ann``'s key to ``name``."""
    limits = KeyLimits.model_validate({"requests_per_minute": 3, "tokens_per_minute": 30})
    key = KeyView("k1", "hash", "k", "user:ann", None, "active", None, limits=limits)
    found = plan(_snapshot(), key, _model(name))
    assert found.allowed and found.problem is None
    meanings: dict[str, tuple[str, ...]] = {}
    for rule in found.rules:
        if rule.description.endswith(f"(model {name} capacity)"):
            meaning: tuple[str, ...] = ("model", name, rule.metric, str(rule.window_s))
        else:  # the caller's own rules: the same whatever the model
            meaning = ("caller", rule.description, rule.metric)
        assert meanings.setdefault(rule.key, meaning) == meaning, f"{rule.key} counts two things"
    return meanings


@given(model_names, model_names)
@example("a", "a:requests:60")
@example("p:tier:u:user:ann", "a")  # the shape of the policy's per-user counter
@example("k:k1", "k:k1:requests:60")  # the shape of the key's own counter
@example("a:requests", "a")
@example("a/requests:60", "a:requests:60")
def test_different_models_never_share_a_counter(first: str, second: str) -> None:
    one, two = _meanings(first), _meanings(second)
    assert len(one) == len(two) == 3 + 8 + 1 + 2  # 3 model, 8 policy (2 x 4 scopes), a budget, 2 key
    for counter in one.keys() & two.keys():
        assert one[counter] == two[counter], f"{first!r} and {second!r} share {counter!r}"
    shared = {counter for counter in one.keys() & two.keys() if one[counter][0] == "model"}
    assert not shared or first == second


# ---- end to end: separate counters on the memory and the Redis limiters --------------------------
def _capped(stem: str) -> list[str]:
    """Names that extend or imitate each other, each with a capacity of one call a minute (one
    family per limiter: a Redis limiter starts from the usage history, the memory one's included)."""
    return [stem, f"{stem}:requests:60", f"{stem}/requests:60", f"{stem}:8b", f"{stem}/8b"]


IN_MEMORY, IN_REDIS = _capped("cap"), _capped("shared")


@pytest.fixture(scope="module")
def capped(server: Server, sim: Sim) -> Server:
    with server.admin() as admin:
        for name in IN_MEMORY + IN_REDIS:
            spec = model_doc(name, sim.url, limits=[{"requests": 1, "window": "1m"}])["spec"]
            admin.put(f"/models/{name}", json=spec).raise_for_status()
    return server


@pytest.fixture(scope="module")
def redis_server(capped: Server) -> Iterator[Server]:
    settings = redis_env()
    started = start_server(capped.database_url, redis=settings)
    yield started
    stop(started.process)
    with redis.Redis.from_url(REDIS_URL) as client:
        for stale in client.scan_iter(match=settings["HEADWATER_REDIS_PREFIX"] + "*"):
            client.delete(stale)


def _each_model_has_its_own_capacity(server: Server, names: list[str]) -> None:
    key = create_key(server, name="capacity")["key"]
    with openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as client:

        def ask(name: str) -> Any:
            return client.chat.completions.create(model=name, messages=[{"role": "user", "content": "hi"}])

        for name in names:
            assert ask(name).model == name  # not refused by another name's counter
        for name in names:
            with pytest.raises(openai.RateLimitError) as refused:
                ask(name)
            assert f"(model {name} capacity)" in refused.value.message


@pytest.mark.e2e
def test_memory_limiter_keeps_a_counter_per_model(capped: Server) -> None:
    _each_model_has_its_own_capacity(capped, IN_MEMORY)


@pytest.mark.e2e
@pytest.mark.redis
def test_redis_limiter_keeps_a_counter_per_model(redis_server: Server) -> None:
    _each_model_has_its_own_capacity(redis_server, IN_REDIS)
    prefix = redis_server.env["HEADWATER_REDIS_PREFIX"]
    with redis.Redis.from_url(REDIS_URL, decode_responses=True) as client:
        counters = set(client.scan_iter(match=f"{prefix}m:*"))
    # Counted in Redis (not by a fallback in memory), one counter per model name (the other family's
    # counters are there too when its calls were made first: rebuilt from the usage history).
    assert {f"{prefix}m:{name}:requests:60" for name in IN_REDIS} <= counters
