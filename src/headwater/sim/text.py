"""Deterministic reply words and embedding vectors.

Every vocabulary word is lowercase letters only and at most four characters long, so each costs
exactly one token by :func:`headwater.token_estimate.count_text`, and a reply of ``n`` words joined by single
spaces costs exactly ``n`` tokens.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import struct
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

WORDS: tuple[str, ...] = (
    "the", "and", "of", "to", "a", "in", "is", "it", "you", "that", "was", "for", "on", "are",
    "with", "as", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not",
    "what", "all", "were", "we", "when", "your", "can", "said", "use", "each", "she", "do", "how",
    "if", "will", "up", "out", "many", "then", "them", "so", "some", "her", "make", "like", "him",
    "into", "time", "has", "look", "two", "more", "go", "see", "no", "way", "data", "flow", "rain",
    "lake", "sea", "tide", "wave", "moss", "reed", "fern", "sky", "sun", "moon",
)  # fmt: skip

MIN_REPLY_TOKENS = 8
MAX_REPLY_TOKENS = 48


def seeded_rng(seed: int, *parts: bytes) -> random.Random:
    digest = hashlib.blake2b(str(seed).encode(), digest_size=16)
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return random.Random(int.from_bytes(digest.digest(), "little"))


def canonical(value: Any) -> bytes:
    """Stable bytes of a JSON value (sorted keys), used as seed material."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # e.g. an integer beyond 64 bits
        return repr(value).encode()


@lru_cache(maxsize=4096)
def reply_words(seed: int, model: str, prompt: bytes, index: int = 0) -> tuple[str, ...]:
    """The natural reply of choice ``index`` (before any cut) for a prompt, as words: it ends, like a
    model's end-of-sequence token, after 8 to 48 words."""
    later = (b"%d" % index,) if index else ()  # choice 0 is the reply of a single-choice call
    rng = seeded_rng(seed, b"reply", model.encode(), prompt, *later)
    count = rng.randint(MIN_REPLY_TOKENS, MAX_REPLY_TOKENS)
    return tuple(rng.choices(WORDS, k=count))


def endless_words(seed: int, model: str, prompt: bytes, index: int, length: int) -> tuple[str, ...]:
    """Exactly ``length`` words: the natural reply, continued past its end (vLLM's ``ignore_eos``)."""
    words = reply_words(seed, model, prompt, index)
    if length <= len(words):
        return words[:length]
    rng = seeded_rng(seed, b"more", model.encode(), prompt, b"%d" % index)
    return words + tuple(rng.choices(WORDS, k=length - len(words)))


class Embedding(NamedTuple):
    values: tuple[float, ...]
    base64: str


@lru_cache(maxsize=4096)
def embedding(seed: int, key: bytes, dimensions: int) -> Embedding:
    """A unit-length vector for one input item; its floats are exactly representable as float32, so
    the ``float`` and ``base64`` encodings carry the same numbers."""
    rng = seeded_rng(seed, b"embed", key)
    raw = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(math.fsum(x * x for x in raw)) or 1.0
    packed = struct.pack(f"<{dimensions}f", *(x / norm for x in raw))
    values = struct.unpack(f"<{dimensions}f", packed)
    return Embedding(values, base64.b64encode(packed).decode("ascii"))
