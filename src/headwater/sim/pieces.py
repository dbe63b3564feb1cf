"""Text cut into tokens as :mod:`headwater.token_estimate` counts them.

The estimator splits text like a BPE pre-tokenizer into letter runs, numbers of up to three digits
and single punctuation marks, and charges a letter run one token per started four letters. Cutting
each letter run into pieces of four, and giving each piece the whitespace before it, yields tokens
the estimator counts one each, which concatenate to the text: a reply's tokens are its stream
deltas, its logprobs entries, and its ``completion_tokens``.
"""

from __future__ import annotations

import re

from headwater.sim.text import WORDS

#: The estimator's pre-tokenizer (``headwater.token_estimate._PIECES``; the tests hold them equal).
_PIECES = re.compile(r"[^\W\d_]+|\d{1,3}|[^\w\s]|_", re.UNICODE)


def split(text: str) -> tuple[str, ...]:
    """``text`` as tokens: ``"".join(split(text)) == text`` and each token counts 1."""
    tokens: list[str] = []
    pos = 0
    for match in _PIECES.finditer(text):
        start, end = match.span()
        lead = text[pos:start]
        piece = match.group()
        for cut in range(0, len(piece), 4):
            tokens.append(lead + piece[cut : cut + 4])
            lead = ""
        pos = end
    if pos < len(text):  # trailing whitespace joins the last token
        if tokens:
            tokens[-1] += text[pos:]
        else:
            tokens.append(text[pos:])
    return tuple(tokens)


_SPACED = {word: " " + word for word in WORDS}


def word_tokens(words: tuple[str, ...]) -> tuple[str, ...]:
    """The tokens of vocabulary words joined by single spaces (one word, one token)."""
    if not words:
        return ()
    return (words[0], *map(_SPACED.__getitem__, words[1:]))
