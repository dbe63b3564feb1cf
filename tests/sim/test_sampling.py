"""Sampling parameters through the OpenAI SDK: ``seed``, ``n``, ``stop``, ``logprobs``/``top_logprobs``
(chat and legacy completions, streamed or not), and usage equal to the estimator's count."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from headwater.token_estimate import count_text

HI: list[Any] = [{"role": "user", "content": "Tell me about rivers."}]


def _content(reply: Any, index: int = 0) -> str:
    content = reply.choices[index].message.content
    assert isinstance(content, str)
    return content


def test_seed_makes_the_answer(client: openai.OpenAI) -> None:
    same = [_content(client.chat.completions.create(model="m", messages=HI, seed=42)) for _ in range(2)]
    assert same[0] == same[1]
    seeded = {
        _content(client.chat.completions.create(model="m", messages=HI, seed=seed)) for seed in range(6)
    }
    assert len(seeded) == 6
    unseeded = client.chat.completions.create(model="m", messages=HI)
    assert unseeded.system_fingerprint == "fp_headwater_sim"
    assert _content(unseeded) not in seeded and _content(unseeded) == _content(
        client.chat.completions.create(model="m", messages=HI)
    )
    legacy = {
        client.completions.create(model="m", prompt="hi", seed=seed).choices[0].text for seed in (1, 2, 1)
    }
    assert len(legacy) == 2
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="m", messages=HI, seed=2**63)
    assert refused.value.param == "seed"


def test_n_choices_differ_and_count_together(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="m", messages=HI, n=4, seed=5)
    texts = [_content(reply, i) for i in range(4)]
    assert [c.index for c in reply.choices] == [0, 1, 2, 3] and len(set(texts)) == 4
    assert reply.usage is not None
    assert reply.usage.completion_tokens == sum(count_text(text) for text in texts)
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert texts[0] == _content(client.chat.completions.create(model="m", messages=HI, seed=5))


def test_stop_sequences(client: openai.OpenAI) -> None:
    full = _content(client.chat.completions.create(model="m", messages=HI))
    words = full.split(" ")
    stop = " " + words[3]
    reply = client.chat.completions.create(model="m", messages=HI, stop=stop)
    expected = full[: full.find(stop)]
    assert _content(reply) == expected and reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.completion_tokens == count_text(expected)
    several = client.chat.completions.create(model="m", messages=HI, stop=["zzz", words[2][:2], stop])
    cut = min(full.find(s) for s in (words[2][:2], stop) if s in full)
    assert _content(several) == full[:cut]
    unmatched = client.chat.completions.create(model="m", messages=HI, stop=["zzz", "QQ"])
    assert _content(unmatched) == full

    with client.chat.completions.create(model="m", messages=HI, stop=stop, stream=True) as stream:
        chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected
    assert chunks[-1].choices[0].finish_reason == "stop"

    text = client.completions.create(model="m", prompt="hi").choices[0].text
    stopped = client.completions.create(model="m", prompt="hi", stop=text.split(" ")[1])
    assert stopped.choices[0].text == text[: text.find(text.split(" ")[1])]


@pytest.mark.parametrize("stop", [["a", "b", "c", "d", "e"], "", [""], [1], {"x": 1}])
def test_bad_stop_is_refused(http: httpx.Client, stop: Any) -> None:
    response = http.post("/v1/chat/completions", json={"model": "m", "messages": HI, "stop": stop})
    assert response.status_code == 400 and response.json()["error"]["param"] == "stop"


def test_a_stop_before_the_cap_wins(client: openai.OpenAI) -> None:
    full = _content(client.chat.completions.create(model="m:ignore-eos", messages=HI, max_tokens=20))
    words = full.split(" ")
    early = client.chat.completions.create(
        model="m:ignore-eos", messages=HI, max_tokens=20, stop=" " + words[5]
    )
    assert early.choices[0].finish_reason == "stop"
    late = client.chat.completions.create(
        model="m:ignore-eos", messages=HI, max_tokens=3, stop=" " + words[5]
    )
    assert late.choices[0].finish_reason == "length" and _content(late) == " ".join(words[:3])


def test_chat_logprobs(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="m", messages=HI, logprobs=True, top_logprobs=3, seed=9, n=2)
    assert reply.usage is not None
    total = 0
    for choice in reply.choices:
        assert choice.logprobs is not None and choice.logprobs.content is not None
        entries = choice.logprobs.content
        assert "".join(e.token for e in entries) == choice.message.content
        total += len(entries)
        for entry in entries:
            assert entry.logprob <= 0 and entry.bytes == list(entry.token.encode())
            top = entry.top_logprobs
            assert len(top) == 3 and top[0].token == entry.token and top[0].logprob == entry.logprob
            assert [t.logprob for t in top] == sorted((t.logprob for t in top), reverse=True)
            assert len({t.token for t in top}) == 3
    assert total == reply.usage.completion_tokens
    plain = client.chat.completions.create(model="m", messages=HI, seed=9)
    assert plain.choices[0].logprobs is None and _content(plain) == _content(reply)
    bare = client.chat.completions.create(model="m", messages=HI, logprobs=True, seed=9)
    bare_logprobs, full_logprobs = bare.choices[0].logprobs, reply.choices[0].logprobs
    assert bare_logprobs is not None and bare_logprobs.content is not None
    assert full_logprobs is not None and full_logprobs.content is not None
    assert all(e.top_logprobs == [] for e in bare_logprobs.content)
    assert [e.logprob for e in bare_logprobs.content] == [e.logprob for e in full_logprobs.content]


def test_streamed_logprobs(client: openai.OpenAI) -> None:
    with client.chat.completions.create(
        model="m", messages=HI, logprobs=True, top_logprobs=2, stream=True, max_completion_tokens=6
    ) as stream:
        chunks = list(stream)
    *tokens, finish = chunks
    assert finish.choices[0].finish_reason == "length" and len(tokens) == 6
    for chunk in tokens:
        choice = chunk.choices[0]
        assert choice.logprobs is not None and choice.logprobs.content is not None
        (entry,) = choice.logprobs.content
        assert entry.token == choice.delta.content and len(entry.top_logprobs) == 2


def test_structured_and_tool_logprobs(roomy: openai.OpenAI) -> None:
    json_reply = roomy.chat.completions.create(
        model="m", messages=HI, response_format={"type": "json_object"}, logprobs=True, top_logprobs=1
    )
    entries = json_reply.choices[0].logprobs.content  # type: ignore[union-attr]
    assert entries is not None and "".join(e.token for e in entries) == json_reply.choices[0].message.content
    tool: Any = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    call = roomy.chat.completions.create(model="m", messages=HI, tools=[tool], logprobs=True)
    assert call.choices[0].message.tool_calls and call.choices[0].logprobs is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"logprobs": "yes"}, "logprobs"),
        ({"logprobs": False, "top_logprobs": 1}, "top_logprobs"),
    ],
)
def test_bad_logprobs_are_refused(http: httpx.Client, body: dict[str, Any], param: str) -> None:
    response = http.post("/v1/chat/completions", json={"model": "m", "messages": HI, **body})
    assert response.status_code == 400 and response.json()["error"]["param"] == param


def test_legacy_completion_logprobs(client: openai.OpenAI, http: httpx.Client) -> None:
    reply = client.completions.create(model="m", prompt="hi", logprobs=2, max_tokens=4)
    logprobs = reply.choices[0].logprobs
    assert logprobs is not None and logprobs.tokens is not None and logprobs.top_logprobs is not None
    assert "".join(logprobs.tokens) == reply.choices[0].text and len(logprobs.tokens) == 4
    assert logprobs.text_offset == [sum(len(t) for t in logprobs.tokens[:i]) for i in range(4)]
    assert all(len(top) == 2 and max(top.values()) <= 0 for top in logprobs.top_logprobs)
    with client.completions.create(model="m", prompt="hi", logprobs=2, max_tokens=4, stream=True) as stream:
        chunks = list(stream)
    streamed = [c.choices[0].logprobs for c in chunks[:-1]]
    assert [lp.tokens for lp in streamed] == [[t] for t in logprobs.tokens]  # type: ignore[union-attr]
    assert [lp.text_offset for lp in streamed] == [[o] for o in logprobs.text_offset or []]  # type: ignore[union-attr]
    response = http.post("/v1/completions", json={"model": "m", "prompt": "hi", "logprobs": 6})
    assert response.status_code == 400 and response.json()["error"]["param"] == "logprobs"


def test_max_completion_tokens_caps_every_kind_of_answer(roomy: openai.OpenAI) -> None:
    tool: Any = {
        "type": "function",
        "function": {
            "name": "record",
            "parameters": {"type": "object", "properties": {"notes": {"type": "string"}}},
        },
    }
    for cap in (1, 2, 5, 9):
        for extra in ({}, {"response_format": {"type": "json_object"}}, {"tools": [tool]}):
            reply = roomy.chat.completions.create(
                model="m",
                messages=HI,
                max_completion_tokens=cap,
                n=2,
                **extra,
            )
            assert reply.usage is not None and reply.usage.completion_tokens <= 2 * cap
            for choice in reply.choices:
                used = count_text(choice.message.content or "")
                for call in choice.message.tool_calls or []:
                    used += count_text(call.function.name) + count_text(call.function.arguments)
                assert used <= cap
                assert choice.finish_reason == "length" or used < cap
