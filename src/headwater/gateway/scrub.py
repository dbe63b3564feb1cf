"""Scrubbing what an upstream says before a caller sees it.

An upstream's error text is relayed (a 4xx body, the detail of a 5xx), and upstreams echo things: the
``Authorization`` header they got, their own URL, their model name. :func:`scrub` removes

- the deployment's credential, wherever it appears;
- anything shaped like a credential: ``Bearer <token>``, ``api_key=<value>``-style pairs, keys with a
  known prefix (``sk-``, ``hwk_``, ``ghp_`` …) and long random-looking tokens (32 or more letters,
  digits, ``-`` and ``_`` that mix upper case, lower case and digits), each replaced by ``[redacted]``;
- the deployment's base URL and its host (``[upstream]``);
- the upstream model name, replaced by the public model name.

Only error paths scrub; successful bodies and stream events are relayed as they come. The text is
cut to :data:`MAX_MESSAGE` characters *before* the rules run (a hostile upstream's megabytes of error
text never reach the regular expressions), dropping a word the cut splits and any tail that starts
the credential: a secret is never relayed in part.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from headwater.snapshot import DeploymentView

REDACTED = "[redacted]"
UPSTREAM = "[upstream]"
#: Longest upstream error text relayed (characters, after scrubbing).
MAX_MESSAGE = 1000

_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=:-]{6,}")
_PAIR = re.compile(
    r"(?i)\b((?:x-)?api[_-]?key|access[_-]?token|secret|password|authorization)(\W{1,4})(?!(?i:bearer|basic)\s)[^\s\"',;&)}\]]{4,}"
)
_PREFIXED = re.compile(r"\b(?:sk|rk|pk|hwk|ghp|gho|ghs|ghu|glpat|xox[abprs])[-_][A-Za-z0-9_-]{8,}")
_MODEL = "\x00model\x00"
_LONG = re.compile(r"[A-Za-z0-9_-]{32,}")
_WORD_TAIL = re.compile(r"[^\s\"',;&)}\]]+$")


def _random_looking(match: re.Match[str]) -> str:
    token = match.group(0)
    mixed = (
        any(c.isupper() for c in token)
        and any(c.islower() for c in token)
        and any(c.isdigit() for c in token)
    )
    return REDACTED if mixed else token


def _cut(text: str, credential: str | None) -> str:
    """At most :data:`MAX_MESSAGE` characters of ``text``, never ending in part of a word or of the
    credential (either may be a secret cut in two)."""
    if len(text) <= MAX_MESSAGE:
        return text
    cut = _WORD_TAIL.sub("", text[:MAX_MESSAGE])
    if credential:
        for length in range(min(len(credential), len(cut)), 0, -1):
            if cut.endswith(credential[:length]):
                cut = cut[:-length]
                break
    return cut + "…"


def scrub(text: str, deployment: DeploymentView, public_model: str) -> str:
    """``text`` without credentials, the upstream's address or its model name (see the module doc)."""
    text = _cut(text, deployment.credential)
    if deployment.credential:
        text = text.replace(deployment.credential, REDACTED)
    renamed = deployment.upstream_model != public_model
    if renamed:  # set aside first, so no later rule rewrites a part of it
        text = text.replace(deployment.upstream_model, _MODEL)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _PREFIXED.sub(REDACTED, text)
    text = _LONG.sub(_random_looking, text)
    for address in _addresses(deployment.base_url):
        text = text.replace(address, UPSTREAM)
    if renamed:
        text = text.replace(_MODEL, public_model)
    return text


def _addresses(base_url: str) -> tuple[str, ...]:
    """The base URL, its origin and its host[:port], longest first."""
    parts = urlsplit(base_url)
    found = [base_url.rstrip("/"), f"{parts.scheme}://{parts.netloc}", parts.netloc]
    if parts.hostname and len(parts.hostname) >= 4 and parts.hostname != parts.netloc:
        found.append(parts.hostname)
    return tuple(address for address in found if address)
