"""The simulator generates like vLLM: n choices, best_of, max_completion_tokens, ignore_eos, context length.

Token counts are literal: with ``:ignore-eos`` a choice is exactly as long as its cap; the prompt
``[{"role": "user", "content": "hi"}]`` is 7 tokens (3 reply priming + 3 per message + "hi").
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx
import openai
import pytest

from tests.sim.conftest import MAX_MODEL_LEN

HI: list[Any] = [{"role": "user", "content": "hi"}]


def test_n_choices_each_up_to_max_completion_tokens(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="m:ignore-eos", messages=HI, n=3, max_completion_tokens=7)
    assert [c.index for c in reply.choices] == [0, 1, 2]
    assert all(c.finish_reason == "length" for c in reply.choices)
    assert [len((c.message.content or "").split(" ")) for c in reply.choices] == [7, 7, 7]
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (7, 21, 28)
    texts = {c.message.content for c in reply.choices}
    assert len(texts) == 3  # each choice is its own sample


def test_max_completion_tokens_wins_over_max_tokens(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="m:ignore-eos", messages=HI, max_tokens=2, max_completion_tokens=6
    )
    assert reply.usage is not None and reply.usage.completion_tokens == 6
    only_max_tokens = client.chat.completions.create(model="m:ignore-eos", messages=HI, max_tokens=2)
    assert only_max_tokens.usage is not None and only_max_tokens.usage.completion_tokens == 2


def test_best_of_generates_every_sequence_and_counts_them(client: openai.OpenAI) -> None:
    reply = client.completions.create(model="m:ignore-eos", prompt="hi", n=2, best_of=5, max_tokens=4)
    assert [c.index for c in reply.choices] == [0, 1]
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (1, 20)  # 5 sequences of 4


def test_without_a_maximum_a_reply_runs_to_the_context_length(client: openai.OpenAI) -> None:
    assert MAX_MODEL_LEN == 256
    reply = client.chat.completions.create(model="m:ignore-eos", messages=HI, n=2)
    assert reply.usage is not None and reply.usage.completion_tokens == 2 * 249  # 256 - 7 each
    assert all(c.finish_reason == "length" for c in reply.choices)
    # the request's own ignore_eos (vLLM's sampling parameter) does the same
    asked = client.chat.completions.create(model="m", messages=HI, extra_body={"ignore_eos": True})
    assert asked.usage is not None and asked.usage.completion_tokens == 249


def test_natural_replies_end_on_their_own(client: openai.OpenAI) -> None:
    single = client.chat.completions.create(model="m", messages=HI)
    several = client.chat.completions.create(model="m", messages=HI, n=4)
    assert several.choices[0].message.content == single.choices[0].message.content
    lengths = [len((c.message.content or "").split(" ")) for c in several.choices]
    assert all(8 <= length <= 48 for length in lengths)
    assert all(c.finish_reason == "stop" for c in several.choices)
    assert several.usage is not None and several.usage.completion_tokens == sum(lengths)


def test_prompt_plus_cap_beyond_the_context_is_refused(client: openai.OpenAI) -> None:
    client.chat.completions.create(model="m:ignore-eos", messages=HI, max_tokens=249)  # exactly fits
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="m", messages=HI, max_tokens=250)
    assert refused.value.code == "context_length_exceeded"
    assert "maximum context length is 256 tokens" in refused.value.message
    assert "257 tokens (7 in the messages, 250 in the completion)" in refused.value.message


def test_streamed_choices_interleave_and_usage_counts_them_all(client: openai.OpenAI) -> None:
    with client.chat.completions.create(
        model="m:ignore-eos",
        messages=HI,
        n=2,
        max_tokens=5,
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        chunks = list(stream)
    *chunks, last = chunks
    assert last.usage is not None and last.usage.completion_tokens == 10
    assert [c.choices[0].index for c in chunks[:4]] == [0, 1, 0, 1]
    texts: dict[int, str] = defaultdict(str)
    finishes = {}
    for chunk in chunks:
        choice = chunk.choices[0]
        texts[choice.index] += choice.delta.content or ""
        if choice.finish_reason:
            finishes[choice.index] = choice.finish_reason
    assert finishes == {0: "length", 1: "length"}
    whole = client.chat.completions.create(model="m:ignore-eos", messages=HI, n=2, max_tokens=5)
    assert [texts[0], texts[1]] == [c.message.content for c in whole.choices]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"n": 0}, "n"),
        ({"n": 129}, "n"),
        ({"n": True}, "n"),
        ({"n": 2, "best_of": 3, "stream": True}, "best_of"),
        ({"best_of": 0}, "best_of"),
    ],
)
def test_choice_counts_are_validated(http: httpx.Client, body: dict[str, Any], param: str) -> None:
    response = http.post("/v1/completions", json={"model": "m", "prompt": "hi", **body})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
