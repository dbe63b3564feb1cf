"""Unit tests of the gateway's pure parts: SSE splitting, scrubbing, depth, the token estimator."""

from __future__ import annotations

import dataclasses

import pytest

from headwater import token_estimate
from headwater.gateway import bodies
from headwater.gateway.scrub import scrub
from headwater.gateway.sse import EventSplitter
from headwater.snapshot import DeploymentView

DEPLOYMENT = DeploymentView(
    id="public-chat/0",
    provider="openai",
    base_url="http://vllm-internal.example:8000/v1",
    upstream_model="meta-llama/Llama-3.1-8B-Instruct",
    credential="s3cr3t-Upstream-Token",
    timeout_s=None,
    weight=1,
)


# ---- SSE splitting ------------------------------------------------------------------------------
def feed_all(splitter: EventSplitter, *reads: bytes) -> list[bytes]:
    return [event for data in reads for event in splitter.feed(data)]


def test_events_split_across_reads() -> None:
    splitter = EventSplitter(1024)
    assert feed_all(splitter, b"data: a\n", b"\ndata: b\n\nda", b"ta: c\n\n") == [
        b"data: a\n\n",
        b"data: b\n\n",
        b"data: c\n\n",
    ]


@pytest.mark.parametrize(
    "reads",
    [
        (b"data: a\r\n\r\ndata: b\r\n\r\n",),
        (b"data: a\r", b"\n\r\ndata: b\r\n\r", b"\n"),
        (b"data: a\r\n", b"\r", b"\n", b"data: b\r\n\r\n"),
    ],
)
def test_crlf_separators_even_when_split_between_reads(reads: tuple[bytes, ...]) -> None:
    assert feed_all(EventSplitter(1024), *reads) == [b"data: a\n\n", b"data: b\n\n"]


def test_empty_events_are_dropped_and_comments_kept() -> None:
    assert feed_all(EventSplitter(1024), b"\n\n: ping\n\n\n\ndata: x\n\n") == [b": ping\n\n", b"data: x\n\n"]


def test_an_unfinished_event_past_the_maximum_stops_the_splitter() -> None:
    splitter = EventSplitter(100)
    assert splitter.feed(b"data: ok\n\n" + b"x" * 60) == [b"data: ok\n\n"]
    assert not splitter.too_large
    assert splitter.feed(b"x" * 60) == []
    assert splitter.too_large
    assert splitter.feed(b"\n\ndata: later\n\n") == []  # nothing more once cut


def test_a_complete_event_past_the_maximum_stops_the_splitter() -> None:
    splitter = EventSplitter(100)
    assert splitter.feed(b"data: ok\n\ndata: " + b"x" * 200 + b"\n\ndata: after\n\n") == [b"data: ok\n\n"]
    assert splitter.too_large


def test_an_event_of_exactly_the_maximum_passes() -> None:
    event = b"data: " + b"x" * 92 + b"\n\n"  # 100 bytes
    assert EventSplitter(100).feed(event) == [event]


# ---- scrubbing ----------------------------------------------------------------------------------
def test_scrub_removes_credentials_addresses_and_the_upstream_model_name() -> None:
    text = (
        "Authorization: Bearer s3cr3t-Upstream-Token rejected by http://vllm-internal.example:8000/v1/chat "
        "(vllm-internal.example:8000) for meta-llama/Llama-3.1-8B-Instruct; api_key=abcd1234 "
    ) + ("sk-" + "proj-0123456789abcdef ghp_AbCdEfGh12345678 token aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3")
    assert scrub(text, DEPLOYMENT, "public-chat") == (
        "Authorization: Bearer [redacted] rejected by [upstream]/chat ([upstream]) for public-chat; "
        "api_key=[redacted] [redacted] [redacted] token [redacted]"
    )


def test_scrub_keeps_ordinary_words_and_ids() -> None:
    text = "This model's maximum context length is 4096 tokens; request 0f1e2d3c4b5a69788796a5b4c3d2e1f0."
    assert scrub(text, DEPLOYMENT, "public-chat") == text


def test_scrub_caps_the_length() -> None:
    assert len(scrub("word " * 1000, DEPLOYMENT, "public-chat")) == 1001


@pytest.mark.parametrize("before", [994, 995, 999])  # the cut falls inside the credential
def test_scrub_never_relays_part_of_a_credential(before: int) -> None:
    text = "z" * (before - 1) + " " + "s3cr3t-Upstream-Token" + " more" * 1_000_000  # 5 MB
    scrubbed = scrub(text, DEPLOYMENT, "public-chat")
    assert len(scrubbed) <= 1001
    assert "s3cr" not in scrubbed and scrubbed.endswith("…")


def test_scrub_drops_a_tail_that_starts_the_credential() -> None:
    """A credential with a space in it: the partial word is dropped, then its first word too."""
    spaced = dataclasses.replace(DEPLOYMENT, credential="tok3n Secret-Value")
    text = "z" * 993 + " tok3n Secret-Value and more" * 10  # the cut falls after "tok3n "
    scrubbed = scrub(text, spaced, "public-chat")
    assert scrubbed.endswith("z …") and "tok3n" not in scrubbed


# ---- depth --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("levels", "deep"), [(1, False), (127, False), (128, True), (1000, True)])
def test_depth_counts_levels_not_brackets(levels: int, deep: bool) -> None:
    body = b'{"a": ' + b"[" * levels + b"1" + b"]" * levels + b"}"  # levels + 1 in all
    payload: object = 1
    for _ in range(levels):
        payload = [payload]
    assert bodies.too_deep(body, {"a": payload}) is deep


def test_many_brackets_in_strings_or_side_by_side_are_not_depth() -> None:
    body = b'{"code": "' + b"{[" * 500 + b'", "wide": [' + b",".join([b"[]"] * 500) + b"]}"
    payload = {"code": "{[" * 500, "wide": [[] for _ in range(500)]}
    assert bodies.too_deep(body, payload) is False


# ---- the token estimator ------------------------------------------------------------------------
def test_image_parts_cost_a_fixed_amount() -> None:
    content = [
        {"type": "text", "text": "Compare these"},  # Compare(2) these(2)
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/b.png"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/c.png", "detail": "high"}},
    ]
    assert token_estimate.count_content(content) == 4 + 85 + 765 + 765


def test_tools_and_legacy_functions_count_names_descriptions_and_schemas() -> None:
    function = {"name": "lookup", "description": "Find a word", "parameters": {"type": "string"}}
    # lookup(2) + Find(1) a(1) word(1) + {"type":"string"}: { " type " : " string " } = 1+3+1+4+1 = 10
    assert token_estimate.count_tools([{"type": "function", "function": function}]) == 15
    payload = {"messages": [{"role": "user", "content": "hi"}], "functions": [function]}
    assert token_estimate.count_prompt(payload) == 3 + 3 + 1 + 15


def test_assistant_tool_calls_and_function_calls_count() -> None:
    messages = [
        {"role": "assistant", "tool_calls": [{"function": {"name": "add", "arguments": '{"a": 12}'}}]},
        {"role": "assistant", "function_call": {"name": "sub", "arguments": "{}"}},
    ]
    # priming 3; 3 + add(1) + { " a " : 12 }(7); 3 + sub(1) + {}(2)
    assert token_estimate.count_messages(messages) == 3 + 11 + 6


# four(1) more(1) words(2); strings; token ids; token-id lists; anything deeper counts nothing
@pytest.mark.parametrize(
    ("value", "expected"),
    [("four more words", 4), (["ab", "cd"], 2), ([1, 2, 3], 3), ([[1, 2], [3]], 3), ([[["deep"]]], 0)],
)
def test_prompt_and_input_forms(value: object, expected: int) -> None:
    assert token_estimate.count_input(value) == expected
