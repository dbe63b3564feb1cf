"""The API key format and hashing, with hypothesis."""

from __future__ import annotations

import hashlib
import re
import string
import zlib

from hypothesis import event, given
from hypothesis import strategies as st

from headwater.keys import secret

SCANNER_PATTERN = re.compile(r"^hwk_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$")
WELL_FORMED = re.compile(r"hwk_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}")
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


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


def crc_base62(body: str) -> str:
    """The checksum, computed here independently of the module: CRC-32 in six base62 digits."""
    number, digits = zlib.crc32(body.encode()), ""
    for _ in range(6):
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    return digits


def well_formed(text: str) -> bool:
    return WELL_FORMED.fullmatch(text) is not None and text[-6:] == crc_base62(text[:-6])


def build(key_id: str, key_secret: str) -> str:
    body = f"hwk_{key_id}_{key_secret}"
    return body + crc_base62(body)


Mutation = tuple[str, int, str]  # (kind, position, text)

MUTATIONS = st.one_of(
    st.tuples(st.just("change"), st.integers(0, 54), st.characters()),
    st.tuples(st.just("change"), st.integers(0, 54), st.sampled_from(BASE62 + "_-")),
    st.tuples(st.just("drop"), st.integers(0, 54), st.just("")),
    st.tuples(st.just("insert"), st.integers(0, 55), st.sampled_from(BASE62 + "_ \n")),
    st.tuples(st.just("checksum"), st.just(0), st.text(BASE62, min_size=6, max_size=6)),
    st.tuples(
        st.just("prefix"), st.just(0), st.sampled_from(["", "hwk", "hwk-", "HWK_", "sk-", "xwk_", "hwk__"])
    ),
    st.tuples(st.just("suffix"), st.just(0), st.sampled_from(["\n", " ", "0", "_"])),
)


def mutate(key: str, mutation: Mutation) -> str:
    kind, position, text = mutation
    if kind == "change":
        return key[:position] + text + key[position + 1 :]
    if kind == "drop":
        return key[:position] + key[position + 1 :]
    if kind == "insert":
        return key[:position] + text + key[position:]
    if kind == "checksum":
        return key[:-6] + text
    if kind == "prefix":
        return text + key[4:]
    return key + text


@given(
    st.text(BASE62, min_size=12, max_size=12),
    st.text(BASE62, min_size=32, max_size=32),
    MUTATIONS,
)
def test_arbitrary_text_is_never_a_key(key_id: str, key_secret: str, mutation: Mutation) -> None:
    key = build(key_id, key_secret)
    assert len(key) == 55 and SCANNER_PATTERN.match(key)
    assert secret.parse_key_id(key) == key_id  # by construction, every example parses a real key
    mutated = mutate(key, mutation)
    parsed = secret.parse_key_id(mutated)
    # accepted exactly when well-formed with a valid checksum (a mutation may give back a valid key)
    event(f"{mutation[0]}: {'accepted' if parsed is not None else 'refused'}")
    if well_formed(mutated):
        assert parsed == mutated[4:16]
    else:
        assert parsed is None


def test_the_checksum_of_new_keys_is_crc32_in_base62() -> None:
    new = secret.new_key()
    assert well_formed(new.key) and new.key[-6:] == crc_base62(new.key[:-6])
    zeros = "hwk_000000000000_" + "0" * 32
    assert zlib.crc32(zeros.encode()) == 3156285285 and crc_base62(zeros) == "3RbRzB"
    assert secret.parse_key_id(zeros + "3RbRzB") == "000000000000"
    assert secret.parse_key_id(zeros + "3RbRzC") is None


@given(st.text(min_size=1, max_size=100))
def test_hash_is_sha256_and_comparison_exact(text: str) -> None:
    digest = secret.hash_key(text)
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    assert secret.matches(text, digest)
    assert not secret.matches(text + "x", digest)
