"""Secrets out of audit records.

The rule: a key names a secret when its *last word* is a secret noun (``key``, ``secret``,
``token``, ``password``, ``hash``, ``credential``, ``authorization``, …). Words are split on ``_``,
``-``, ``.``, spaces and camelCase, case-insensitively. So ``api_key``, ``client_secret``,
``previous_hash``, ``x-api-key`` and ``Authorization`` are secrets, while ``key_id``, ``prefix``,
``credential_env``, ``secret_name`` and ``max_tokens`` are references or counts and are kept.
A secret's value becomes ``"[redacted]"`` (``None`` stays ``None``: "no secret" is not a secret).
Anywhere else, a whole Headwater API key inside a string is replaced the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

SECRET_WORDS = frozenset(
    {
        "key",
        "secret",
        "secrets",
        "token",
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "hash",
        "credential",
        "credentials",
        "authorization",
        "cookie",
        "csrf",
        "verifier",
    }
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[_\-.\s]+")
_API_KEY = re.compile(r"hwk_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}")


def is_secret(name: str) -> bool:
    words = [w for w in _SEPARATORS.split(_CAMEL.sub("_", name).lower()) if w]
    return bool(words) and words[-1] in SECRET_WORDS


def scrub(text: str) -> str:
    """``text`` with any whole API key in it replaced."""
    return _API_KEY.sub(REDACTED, text)


def redact(value: Any) -> Any:
    """A copy of ``value`` (mappings, lists, scalars) with secrets replaced by ``"[redacted]"``."""
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if v is not None else None) if isinstance(k, str) and is_secret(k) else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    return value
