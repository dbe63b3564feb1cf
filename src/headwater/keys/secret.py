"""The API key format.

    hwk_<id:12>_<secret:32><checksum:6>

* ``hwk_`` is a fixed, recognisable prefix, so secret scanners (GitHub push protection, gitleaks,
  trufflehog) can find leaked keys with ``hwk_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}``.
* ``id`` is the key's public id (the admin API's ``id``), embedded so that the gateway finds the
  record in O(1) without scanning hashes.
* ``secret`` is 32 base62 characters from :mod:`secrets`: about 190 bits of randomness.
* ``checksum`` is the CRC-32 of everything before it, in base62, so that scanners and the gateway
  can reject a mistyped or made-up key without a lookup.

Only the SHA-256 of the whole key is stored. A plain SHA-256 is the right hash here: the input is
190 random bits, so there is nothing for a slow password hash to protect against. Comparison is
constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import zlib
from dataclasses import dataclass

PREFIX = "hwk_"
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
ID_LENGTH = 12
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(PREFIX) + ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH
_ALLOWED = frozenset(ALPHABET)


@dataclass(frozen=True, slots=True)
class NewKey:
    id: str
    key: str
    hash: str
    prefix: str


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key_id: str) -> str:
    """What lists show instead of the secret: enough to recognise a key, nothing to use it."""
    return f"{PREFIX}{key_id}"


def new_key(key_id: str | None = None) -> NewKey:
    key_id = key_id or _random(ID_LENGTH)
    body = f"{PREFIX}{key_id}_{_random(SECRET_LENGTH)}"
    key = body + _checksum(body)
    return NewKey(id=key_id, key=key, hash=hash_key(key), prefix=display_prefix(key_id))


def parse_key_id(key: str) -> str | None:
    """The id embedded in a well-formed key, or ``None`` when ``key`` cannot be one of ours."""
    if len(key) != KEY_LENGTH or not key.startswith(PREFIX):
        return None
    key_id = key[len(PREFIX) : len(PREFIX) + ID_LENGTH]
    if key[len(PREFIX) + ID_LENGTH] != "_":
        return None
    rest = key[len(PREFIX) + ID_LENGTH + 1 :]
    if not _ALLOWED.issuperset(key_id) or not _ALLOWED.issuperset(rest):
        return None
    if _checksum(key[:-CHECKSUM_LENGTH]) != key[-CHECKSUM_LENGTH:]:
        return None
    return key_id


def matches(key: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key with a stored hash."""
    return hmac.compare_digest(hash_key(key), stored_hash)
