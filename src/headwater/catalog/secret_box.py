"""Sealing stored credentials: AES-256-GCM under the server's secret key.

The key is 32 random bytes, configured base64-encoded in ``HEADWATER_SECRET_KEY`` or in a file named
by ``HEADWATER_SECRET_KEY_FILE`` (:func:`parse_key` refuses anything else, naming the setting, never
echoing the value). Each value is sealed with a fresh random 96-bit nonce and the credential's name
as associated data, so a ciphertext copied onto another credential's row does not open. What is
stored beside the ciphertext is the nonce and the key's id (:func:`key_id`: the first 16 hex digits
of the SHA-256 of the key), which says which key sealed a value without revealing it: a value sealed
under another key is refused as :class:`WrongKey` before any decryption is tried.

Nothing here logs, and no exception carries a value or a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_CHARS = 16
#: The setting that holds the key, and the one that names a file holding it.
KEY_ENV = "HEADWATER_SECRET_KEY"
KEY_FILE_ENV = "HEADWATER_SECRET_KEY_FILE"
#: The new key of ``headwater secrets rotate-key`` (when not given as ``--new-key-file``).
NEW_KEY_ENV = "HEADWATER_NEW_SECRET_KEY"


class BadKey(ValueError):
    """A configured key is not base64 of 32 bytes, or its file cannot be read."""


class CannotOpen(Exception):
    """A stored value does not open under this key. The message names the credential, never a value."""


class WrongKey(CannotOpen):
    """The value was sealed under another key (its key id is not this key's)."""


def generate_key() -> str:
    """A fresh key, base64-encoded: what ``HEADWATER_SECRET_KEY`` takes."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def parse_key(text: str, setting: str = KEY_ENV) -> bytes:
    """The 32 bytes ``text`` encodes in base64 (standard or URL-safe alphabet, surrounding blanks
    ignored); :class:`BadKey` naming ``setting`` for anything else."""
    cleaned = text.strip()
    try:
        raw = base64.b64decode(cleaned.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise BadKey(
            f"{setting} is not valid base64: generate a key with `headwater secrets generate-key`"
        ) from None
    if len(raw) != KEY_BYTES:
        raise BadKey(
            f"{setting} must be base64 of {KEY_BYTES} bytes (it decodes to {len(raw)}): generate one "
            "with `headwater secrets generate-key`"
        )
    return raw


def read_key_file(path: Path | str, setting: str = KEY_FILE_ENV) -> bytes:
    """The key held (base64) in the file at ``path``."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except FileNotFoundError:
        raise BadKey(f"{setting}: no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise BadKey(f"{setting}: cannot read {path} ({reason})") from None
    return parse_key(text, f"{setting} ({path})")


def key_id(key: bytes) -> str:
    """The key's public id: the first :data:`KEY_ID_CHARS` hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:KEY_ID_CHARS]


@dataclass(frozen=True, slots=True)
class Sealed:
    """A value as stored: its ciphertext (with GCM's tag), nonce, and the id of the key that sealed it."""

    ciphertext: bytes
    nonce: bytes
    key_id: str


@dataclass(frozen=True)
class SecretBox:
    """Seals and opens credential values under one key."""

    key: bytes = field(repr=False)
    id: str = field(init=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise BadKey(f"a secret key is {KEY_BYTES} bytes")
        object.__setattr__(self, "id", key_id(self.key))

    def _aead(self) -> AESGCM:
        # Imported when a value is sealed or opened, not with the settings (every CLI command).
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(self.key)

    def seal(self, name: str, value: str) -> Sealed:
        """``value`` sealed for the credential ``name`` (its associated data), under a fresh nonce."""
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._aead().encrypt(nonce, value.encode("utf-8"), name.encode("utf-8"))
        return Sealed(ciphertext, nonce, self.id)

    def open(self, name: str, sealed: Sealed) -> str:
        """The value of credential ``name``; :class:`WrongKey` when another key sealed it,
        :class:`CannotOpen` when it was altered (or is another credential's)."""
        if sealed.key_id != self.id:
            raise WrongKey(f"credential {name} is sealed under key {sealed.key_id}, not this key ({self.id})")
        from cryptography.exceptions import InvalidTag

        try:
            plain = self._aead().decrypt(sealed.nonce, sealed.ciphertext, name.encode("utf-8"))
        except (InvalidTag, ValueError):
            raise CannotOpen(f"credential {name} does not decrypt under this key (altered?)") from None
        return plain.decode("utf-8")


def load(secret_key: str | None, secret_key_file: Path | str | None) -> SecretBox | None:
    """The box of the configured key (``HEADWATER_SECRET_KEY`` or ``HEADWATER_SECRET_KEY_FILE``), or
    None when neither is set. Both set is an error: which one wins would be a guess."""
    if secret_key and secret_key_file:
        raise BadKey(f"set {KEY_ENV} or {KEY_FILE_ENV}, not both")
    if secret_key:
        return SecretBox(parse_key(secret_key))
    if secret_key_file:
        return SecretBox(read_key_file(secret_key_file))
    return None
