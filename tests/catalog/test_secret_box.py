"""The box that seals stored credentials: AES-256-GCM, a fresh nonce each time, the name bound in."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import ValidationError

from headwater.catalog.secret_box import (
    BadKey,
    CannotOpen,
    Sealed,
    SecretBox,
    WrongKey,
    generate_key,
    key_id,
    load,
    parse_key,
    read_key_file,
)
from headwater.settings import Settings

VALUE = "sk-" + "upstream-0123456789abcdef"


def box() -> SecretBox:
    return SecretBox(parse_key(generate_key()))


def test_a_value_opens_under_its_key_and_name_only() -> None:
    mine = box()
    sealed = mine.seal("openai", VALUE)
    assert mine.open("openai", sealed) == VALUE
    assert VALUE.encode() not in sealed.ciphertext
    assert len(sealed.nonce) == 12 and sealed.key_id == mine.id
    with pytest.raises(CannotOpen):  # the name is associated data: a row copied onto another's
        mine.open("anthropic", sealed)
    with pytest.raises(WrongKey, match="sealed under key"):
        box().open("openai", sealed)


def test_every_seal_takes_a_fresh_nonce() -> None:
    mine = box()
    first, second = mine.seal("a", VALUE), mine.seal("a", VALUE)
    assert first.nonce != second.nonce and first.ciphertext != second.ciphertext


def test_an_altered_ciphertext_does_not_open_and_says_nothing_of_the_value() -> None:
    mine = box()
    sealed = mine.seal("a", VALUE)
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(CannotOpen) as raised:
        mine.open("a", Sealed(flipped, sealed.nonce, sealed.key_id))
    assert VALUE not in str(raised.value) and "credential a" in str(raised.value)


def test_the_key_id_is_a_short_fingerprint() -> None:
    key = parse_key(generate_key())
    assert key_id(key) == SecretBox(key).id
    assert len(key_id(key)) == 16 and int(key_id(key), 16) >= 0
    shown = repr(SecretBox(key))
    assert base64.b64encode(key).decode() not in shown and repr(key) not in shown


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"short").decode(), "decodes to 5"),
        (base64.b64encode(bytes(33)).decode(), "decodes to 33"),
        ("", "decodes to 0"),
    ],
)
def test_a_malformed_key_is_refused_by_name_never_echoed(text: str, message: str) -> None:
    with pytest.raises(BadKey, match=message) as raised:
        parse_key(text)
    assert "HEADWATER_SECRET_KEY" in str(raised.value)
    if text:
        assert text not in str(raised.value)


def test_url_safe_base64_and_blanks_around_are_accepted() -> None:
    raw = bytes(range(250, 256)) * 5 + b"\xfb\xff"
    assert parse_key("  " + base64.urlsafe_b64encode(raw).decode() + "\n") == raw


def test_key_file(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(generate_key() + "\n")
    assert len(read_key_file(path)) == 32
    with pytest.raises(BadKey, match="no such file"):
        read_key_file(tmp_path / "missing")
    path.write_text("nope")
    with pytest.raises(BadKey, match="HEADWATER_SECRET_KEY_FILE"):
        read_key_file(path)


def test_load_from_settings(tmp_path: Path) -> None:
    key = generate_key()
    path = tmp_path / "key"
    path.write_text(key)
    assert load(None, None) is None
    from_env, from_file = load(key, None), load(None, path)
    assert from_env is not None and from_file is not None and from_env.id == from_file.id
    with pytest.raises(BadKey, match="not both"):
        load(key, path)


def test_settings_refuse_a_malformed_key_without_showing_it(tmp_path: Path) -> None:
    key = generate_key()
    settings = Settings(secret_key=key, data_dir=tmp_path)
    box_ = settings.secret_box()
    assert box_ is not None and box_.id == key_id(parse_key(key))
    assert key not in repr(settings)
    bad = base64.b64encode(b"sixteen bytes!!!").decode()
    with pytest.raises(ValidationError) as raised:
        Settings(secret_key=bad, data_dir=tmp_path)
    messages = " ".join(error["msg"] for error in raised.value.errors())
    assert "HEADWATER_SECRET_KEY must be base64 of 32 bytes" in messages and bad not in messages
    with pytest.raises(ValidationError, match="no such file"):
        Settings(secret_key_file=tmp_path / "missing", data_dir=tmp_path)
    assert Settings(secret_key="", data_dir=tmp_path).secret_box() is None
