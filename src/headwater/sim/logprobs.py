"""Deterministic log-probabilities for generated tokens, in the chat and the legacy completions
shapes.

Each token is the most likely of its position: its probability ``p`` is drawn in ``[0.35, 0.99)``
and the alternatives (vocabulary words, with the token's leading space if it has one) share what is
left, each half the one before, so the top list is strictly descending, the chosen token first, and
sums below 1. Twenty alternatives are always drawn, so a token's figures do not depend on how many
``top_logprobs`` were asked for.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from headwater.sim.text import WORDS

MAX_TOP = 20


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    token: str
    logprob: float
    #: The most likely tokens of the position, best first (the chosen one first), ``MAX_TOP`` long.
    top: tuple[tuple[str, float], ...]


def draw(tokens: tuple[str, ...], rng: random.Random) -> tuple[TokenLogprob, ...]:
    """Log-probabilities for ``tokens``."""
    out: list[TokenLogprob] = []
    for token in tokens:
        chosen = 0.35 + 0.64 * rng.random()
        lead = " " if token.startswith(" ") else ""
        others = [word for word in rng.sample(WORDS, MAX_TOP) if lead + word != token][: MAX_TOP - 1]
        rest = 1.0 - chosen
        top = [(token, _log(chosen))]
        top.extend((lead + word, _log(rest * 0.5 ** (rank + 1))) for rank, word in enumerate(others))
        out.append(TokenLogprob(token, top[0][1], tuple(top)))
    return tuple(out)


def _log(probability: float) -> float:
    return round(math.log(probability), 6)


def _entry(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


def chat_content(entries: tuple[TokenLogprob, ...], top: int) -> list[dict[str, Any]]:
    """``choices[i].logprobs.content`` of a chat completion, ``top`` alternatives per token."""
    return [
        {**_entry(e.token, e.logprob), "top_logprobs": [_entry(t, lp) for t, lp in e.top[:top]]}
        for e in entries
    ]


def legacy(entries: tuple[TokenLogprob, ...], top: int, offset: int = 0) -> dict[str, Any]:
    """``choices[i].logprobs`` of a text completion; ``offset``: where the first token starts."""
    offsets = []
    for entry in entries:
        offsets.append(offset)
        offset += len(entry.token)
    return {
        "tokens": [e.token for e in entries],
        "token_logprobs": [e.logprob for e in entries],
        "top_logprobs": [dict(e.top[:top]) for e in entries],
        "text_offset": offsets,
    }
