"""The API key format and hashing, with hypothesis."""

from __future__ import annotations

import hashlib
import re

from hypothesis import given
from hypothesis import strategies as st

from headwater.keys import secret

SCANNER_PATTERN = re.compile(r"^hwk_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$")


def test_new_key_shape() -> None:
    new = secret.new_key()
    assert SCANNER_PATTERN.match(new.key)
    assert new.key.startswith(f"hwk_{new.id}_")
    assert new.prefix == f"hwk_{new.id}" and new.prefix in new.key
    assert new.hash == hashlib.sha256(new.key.encode()).hexdigest()
    assert secret.parse_key_id(new.key) == new.id
    assert secret.matches(new.key, new.hash)
    # 32 characters from a 62-letter alphabet: about 190 bits
    assert secret.SECRET_LENGTH * 5.95 >= 128


def test_keys_are_unique() -> None:
    keys = {secret.new_key().key for _ in range(2000)}
    ids = {secret.parse_key_id(key) for key in keys}
    assert len(keys) == len(ids) == 2000


@given(st.integers(min_value=0, max_value=secret.KEY_LENGTH - 1), st.sampled_from(secret.ALPHABET))
def test_any_single_character_change_is_rejected(position: int, replacement: str) -> None:
    new = secret.new_key()
    if new.key[position] == replacement or position < len(secret.PREFIX):
        return
    changed = new.key[:position] + replacement + new.key[position + 1 :]
    # either the checksum catches it, or (for the id part) it names another key whose hash differs
    assert secret.parse_key_id(changed) is None or not secret.matches(changed, new.hash)


@given(st.text(max_size=80))
def test_arbitrary_text_is_never_a_key(text: str) -> None:
    key_id = secret.parse_key_id(text)
    if key_id is not None:  # only a well-formed key with a valid checksum parses
        assert SCANNER_PATTERN.match(text)


@given(st.text(min_size=1, max_size=100))
def test_hash_is_sha256_and_comparison_exact(text: str) -> None:
    digest = secret.hash_key(text)
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    assert secret.matches(text, digest)
    assert not secret.matches(text + "x", digest)
