"""The organisation the usage benches call with, and the events its keys make (issue 12).

Used by ``bench/usage_generate.py`` (a year of events in PostgreSQL) and ``bench/usage_writer.py``
(the production writer fed as fast as it takes them).

* keys: 85 % owned by users, 10 % by service accounts, 5 % by teams; calls are Zipf-distributed over
  the keys (exponent 1.1: the top 1 % of keys make about half the calls), and each key calls one to
  three models;
* users: each in one of the teams, a quarter also in one of five guilds; a team's cost centre
  (shared by several teams) and tier (policy) are frozen into each event, 3 % of users have no
  cost centre (``unassigned``);
* models: eight, with asymmetric input/output prices in USD and EUR, three with two deployments;
* time: weekdays busier than weekends, office hours busier than nights; tokens, latency, time to
  first token (streamed calls) and status (97 % success) drawn from skewed distributions.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate

from headwater.keys.secret import new_key
from headwater.usage.events import UsageEvent
from headwater.usage.rollup import truncate


@dataclass(frozen=True)
class Sizes:
    events: int = 10_000_000
    keys: int = 10_000
    users: int = 4_000
    teams: int = 100
    cost_centers: int = 40
    days: int = 365


@dataclass(frozen=True)
class Model:
    name: str
    endpoint: str
    deployments: tuple[tuple[str, str], ...]  # (id, provider)
    input_per_million: Decimal
    output_per_million: Decimal
    currency: str
    latency_ms: float  # median

    @property
    def input_per_token(self) -> Decimal:
        return self.input_per_million / 1_000_000

    @property
    def output_per_token(self) -> Decimal:
        return self.output_per_million / 1_000_000


def _model(
    name: str, endpoint: str, deployments: int, price: tuple[str, str], currency: str, ms: float
) -> Model:
    """Every deployment speaks the OpenAI API (the one provider Headwater has)."""
    deployments = tuple((f"{name}/{n}", "openai") for n in range(deployments))
    return Model(name, endpoint, deployments, Decimal(price[0]), Decimal(price[1]), currency, ms)


MODELS = (
    _model("chat-large", "chat", 2, ("2.50", "10.00"), "USD", 1800),
    _model("chat-small", "chat", 1, ("0.15", "0.60"), "USD", 600),
    _model("reasoner", "chat", 1, ("3.00", "15.00"), "USD", 4500),
    _model("coder-70b", "chat", 2, ("0.40", "0.80"), "EUR", 1200),
    _model("eu-chat-large", "chat", 1, ("2.00", "6.00"), "EUR", 1500),
    _model("eu-chat-small", "completions", 1, ("0.10", "0.30"), "EUR", 300),
    _model("embed-small", "embeddings", 1, ("0.02", "0"), "USD", 80),
    _model("vision", "chat", 1, ("1.25", "5.00"), "USD", 2500),
)  # fmt: skip
#: How popular each model is (same order as MODELS).
MODEL_WEIGHTS = (14, 30, 6, 16, 8, 10, 12, 4)
TIERS = ("tier-gold", "tier-silver", "tier-bronze", "tier-batch", "tier-free")
GUILDS = ("guild-platform", "guild-data", "guild-security", "guild-mobile", "guild-research")
#: Relative load per hour of the day (UTC) and per weekday (Monday first).
HOURS = (2, 1, 1, 1, 1, 2, 4, 8, 14, 18, 20, 19, 15, 17, 20, 20, 18, 14, 9, 6, 5, 4, 3, 2)
WEEKDAYS = (10, 10, 10, 10, 9, 3, 2)


@dataclass(frozen=True)
class Key:
    id: str
    hash: str
    prefix: str
    principal: str
    owner_type: str
    owner_name: str
    groups: tuple[str, ...]
    cost_center: str | None
    policy: str
    models: tuple[int, ...]  # indexes into MODELS
    model_weights: tuple[int, ...]


@dataclass
class Org:
    teams: list[tuple[str, str]]  # (name, cost centre)
    users: dict[str, tuple[tuple[str, ...], str | None]]  # name → (groups, cost centre)
    keys: list[Key]
    key_weights: list[float] = field(default_factory=list)  # cumulative, Zipf


def build_org(sizes: Sizes, rng: random.Random) -> Org:
    teams = [(f"team-{n:03d}", f"cc-{n % sizes.cost_centers:02d}") for n in range(sizes.teams)]
    tier_of = {name: TIERS[n % len(TIERS)] for n, (name, _) in enumerate(teams)}
    users: dict[str, tuple[tuple[str, ...], str | None]] = {}
    for n in range(sizes.users):
        team, center = teams[n % len(teams)]
        groups = (team, GUILDS[n % len(GUILDS)]) if rng.random() < 0.25 else (team,)
        users[f"user-{n:05d}"] = (tuple(sorted(groups)), None if rng.random() < 0.03 else center)
    user_names = list(users)
    keys: list[Key] = []
    for _ in range(sizes.keys):
        made = new_key()
        draw = rng.random()
        if draw < 0.85:
            owner_type, owner = "user", rng.choice(user_names)
            groups, center = users[owner]
            team = next(g for g in groups if g.startswith("team-"))
        else:
            team, center = rng.choice(teams)
            groups = (team,)
            owner_type, owner = ("serviceaccount", f"sa-{team}") if draw < 0.95 else ("group", team)
        count = rng.choice((1, 1, 2, 3))
        models = tuple(sorted(set(rng.choices(range(len(MODELS)), weights=MODEL_WEIGHTS, k=count))))
        keys.append(
            Key(made.id, made.hash, made.prefix, f"{owner_type}:{owner}", owner_type, owner, groups, center,
                tier_of[team], models, tuple(rng.randint(1, 10) for _ in models))
        )  # fmt: skip
    zipf = [1.0 / (rank + 1) ** 1.1 for rank in range(len(keys))]
    rng.shuffle(keys)  # the heavy keys are anywhere in the list (and in the id order)
    return Org(teams, users, keys, list(accumulate(zipf)))


def _day_weight(day: datetime) -> int:
    return WEEKDAYS[day.weekday()]


def days_of(sizes: Sizes, end: datetime) -> list[tuple[datetime, int]]:
    """The ``days`` whole days before ``end``'s (midnight UTC, oldest first) and how many events each
    gets (summing to the total)."""
    today = truncate(end, "day")
    days = [today - timedelta(days=n) for n in range(sizes.days, 0, -1)]
    weights = [_day_weight(day) for day in days]
    total = sum(weights)
    counts = [sizes.events * w // total for w in weights]
    for n in range(sizes.events - sum(counts)):
        counts[n % len(counts)] += 1
    return list(zip(days, counts, strict=True))


class EventMaker:
    """Realistic events for the keys of ``org``, drawn with ``rng``; event ids as one worker process
    makes them (a random prefix, a counter)."""

    def __init__(self, org: Org, rng: random.Random) -> None:
        self.org = org
        self.rng = rng
        self.hour_weights = list(accumulate(HOURS))
        self.prefix = f"{rng.getrandbits(64):016x}"
        self.counter = 0

    def times(self, start: datetime, count: int, span_s: float = 86_400.0) -> list[float]:
        """``count`` instants in [start, start + span_s), sorted, following the hours' weights."""
        rng = self.rng
        base = start.timestamp()
        if span_s >= 86_400:
            hours = rng.choices(range(24), cum_weights=self.hour_weights, k=count)
            return sorted(base + hour * 3600 + rng.random() * 3600 for hour in hours)
        return sorted(base + rng.random() * span_s for _ in range(count))

    def events(self, instants: Sequence[float]) -> list[UsageEvent]:
        rng = self.rng
        keys = rng.choices(self.org.keys, cum_weights=self.org.key_weights, k=len(instants))
        made: list[UsageEvent] = []
        for ts, key in zip(instants, keys, strict=True):
            model = MODELS[
                key.models[0] if len(key.models) == 1 else rng.choices(key.models, key.model_weights)[0]
            ]
            deployment, provider = model.deployments[0 if len(model.deployments) == 1 else rng.randrange(2)]
            embedding = model.endpoint == "embeddings"
            prompt = int(rng.lognormvariate(5.5 if embedding else 6.2, 1.0)) + 1
            completion = 0 if embedding else int(rng.lognormvariate(5.0, 1.1)) + 1
            draw = rng.random()
            status, http = ("success", 200) if draw < 0.97 else ("error", 500 if draw < 0.985 else 429)
            if draw > 0.995:
                status, http = "cancelled", 499
            if status != "success":
                completion = 0 if http != 499 else completion // 3
            streamed = not embedding and rng.random() < 0.6
            latency = model.latency_ms * rng.lognormvariate(0.0, 0.6)
            ttft = latency * rng.uniform(0.05, 0.3) if streamed else None
            self.counter += 1
            made.append(
                UsageEvent(
                    ts=ts, request_id=f"req-{self.prefix[:8]}{self.counter:x}", key_id=key.id,
                    principal=key.principal, model=model.name, deployment=deployment, provider=provider,
                    endpoint=model.endpoint, prompt_tokens=prompt, completion_tokens=completion,
                    cost=prompt * model.input_per_token + completion * model.output_per_token,
                    currency=model.currency, status=status, http_status=http, latency_ms=round(latency, 3),
                    ttft_ms=round(ttft, 3) if ttft is not None else None, streamed=streamed,
                    estimated=status == "cancelled", event_id=f"{self.prefix}{self.counter:x}",
                    groups=key.groups, cost_center=key.cost_center, policy=key.policy,
                )
            )  # fmt: skip
        return made
