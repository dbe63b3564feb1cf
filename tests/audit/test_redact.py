"""Secrets never reach the audit trail; references to them do."""

from __future__ import annotations

import pytest

from headwater.audit.redact import REDACTED, is_secret, redact
from headwater.keys.secret import new_key


@pytest.mark.parametrize(
    "name",
    [
        "key",
        "secret",
        "token",
        "password",
        "hash",
        "credential",
        "credentials",
        "api_key",
        "client_secret",
        "access_token",
        "previous_hash",
        "Authorization",
        "x-api-key",
        "apiKey",
        "clientSecret",
        "admin.token",
        "csrf",
        "code_verifier",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret(name)


@pytest.mark.parametrize(
    "name",
    [
        "key_id",
        "keyId",
        "prefix",
        "credential_env",
        "secret_name",
        "token_ttl",
        "max_tokens",
        "prompt_tokens",
        "tokens_per_minute",
        "name",
        "owner",
        "keys",
        "monkey",
        "hashed_at",
        "",
    ],
)
def test_reference_names(name: str) -> None:
    assert not is_secret(name)


def test_redacts_recursively_and_keeps_references() -> None:
    key = new_key()
    value = {
        "id": key.id,
        "key_id": key.id,
        "prefix": key.prefix,
        "key": key.key,
        "hash": key.hash,
        "previous_hash": None,
        "deployments": [
            {"base_url": "http://x", "credential_env": "OPENAI_KEY", "api_key": "sk-123"},
            {"headers": {"Authorization": "Bearer abc", "X-Trace": "t"}},
        ],
        "note": f"created {key.key} for ci",
        "count": 3,
    }
    assert redact(value) == {
        "id": key.id,
        "key_id": key.id,
        "prefix": key.prefix,
        "key": REDACTED,
        "hash": REDACTED,
        "previous_hash": None,
        "deployments": [
            {"base_url": "http://x", "credential_env": "OPENAI_KEY", "api_key": REDACTED},
            {"headers": {"Authorization": REDACTED, "X-Trace": "t"}},
        ],
        "note": f"created {REDACTED} for ci",
        "count": 3,
    }
    assert value["key"] == key.key  # a copy: the input is not changed


def test_whole_secret_subtrees_go() -> None:
    assert redact({"credentials": {"user": "u", "password": "p"}}) == {"credentials": REDACTED}
    assert redact([{"token": 1}, "plain", 2, None]) == [{"token": REDACTED}, "plain", 2, None]
