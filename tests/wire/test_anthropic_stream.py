"""Anthropic's stream both ways: MessagesDecoder (upstream bytes → chat chunks), MessagesEncoder
(chat chunks → events), MessagesUsage (a passed-through stream's usage).

The ``*.sse`` fixtures are Anthropic's own examples (API reference, "Streaming Messages"): a text
stream with a ping, a tool_use stream whose input comes in input_json_delta pieces, an extended
thinking stream, and a stream cut by an ``error`` event.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.gateway.sse import EVENT_TOO_LARGE, EventSplitter
from headwater.gateway.wire.anthropic import MessagesDecoder, MessagesEncoder, MessagesUsage, error_event
from headwater.gateway.wire.base import Json

FIXTURES = Path(__file__).parent / "fixtures" / "anthropic"
STREAMS = ["text_stream.sse", "tool_stream.sse", "thinking_stream.sse", "error_stream.sse"]
LIMIT = 1 << 16


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def decode(*pieces: bytes, limit: int = LIMIT) -> tuple[list[Json], MessagesDecoder]:
    decoder = MessagesDecoder(limit)
    chunks = [chunk for piece in pieces for chunk in decoder.feed(piece)]
    for chunk in chunks:
        chunk.pop("created")
    return chunks, decoder


def text_of(chunks: list[Json]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def calls_of(chunks: list[Json]) -> dict[int, Json]:
    """The tool calls of a chunk stream, assembled as an OpenAI client does."""
    calls: dict[int, Json] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for call in choice["delta"].get("tool_calls") or []:
                into = calls.setdefault(call["index"], {"id": None, "name": None, "arguments": ""})
                into["id"] = call.get("id") or into["id"]
                into["name"] = call.get("function", {}).get("name") or into["name"]
                into["arguments"] += call.get("function", {}).get("arguments") or ""
    return calls


def finish_of(chunks: list[Json]) -> list[str]:
    return [
        c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]
    ]


def test_a_text_stream() -> None:
    chunks, decoder = decode(raw("text_stream.sse"))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert (
        chunks[0]["id"] == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"
        and chunks[0]["model"] == "claude-opus-4-6"
    )
    assert text_of(chunks) == "Hello!"
    assert finish_of(chunks) == ["stop"]
    usage = {"prompt_tokens": 25, "completion_tokens": 15, "total_tokens": 40}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == usage
    assert decoder.done and decoder.usage == usage and decoder.failure is None
    assert decoder.feed(b"event: message_stop\ndata: {}\n\n") == []


def test_a_tool_use_stream() -> None:
    chunks, decoder = decode(raw("tool_stream.sse"))
    assert text_of(chunks) == "Okay, let's check the weather for San Francisco, CA:"
    calls = calls_of(chunks)
    assert list(calls) == [0]
    assert calls[0]["id"] == "toolu_01T1x1fJ34qAmk2tNTrN7Up6" and calls[0]["name"] == "get_weather"
    assert orjson.loads(calls[0]["arguments"]) == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    assert finish_of(chunks) == ["tool_calls"]
    assert decoder.usage == {
        "prompt_tokens": 600,
        "completion_tokens": 89,
        "total_tokens": 689,
        "prompt_tokens_details": {"cached_tokens": 128},
    }


def test_thinking_is_dropped() -> None:
    chunks, decoder = decode(raw("thinking_stream.sse"))
    assert text_of(chunks) == "The greatest common divisor of 1071 and 462 is **21**."
    assert b"Euclidean" not in orjson.dumps(chunks) and b"signature" not in orjson.dumps(chunks)
    assert decoder.done


def test_an_error_event_is_a_failure() -> None:
    chunks, decoder = decode(raw("error_stream.sse"))
    assert text_of(chunks) == "Once upon"
    assert decoder.failure == ("Overloaded", "overloaded_error")
    assert not decoder.done
    assert decoder.usage == {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}


@pytest.mark.parametrize("name", STREAMS)
def test_every_split_point_gives_the_same_chunks(name: str) -> None:
    body = raw(name)
    whole, reference = decode(body)
    for cut in range(1, len(body)):
        chunks, decoder = decode(body[:cut], body[cut:])
        assert chunks == whole, cut
        assert (decoder.done, decoder.usage, decoder.failure) == (
            reference.done,
            reference.usage,
            reference.failure,
        )


@pytest.mark.parametrize("name", STREAMS)
def test_crlf_and_byte_by_byte_give_the_same_chunks(name: str) -> None:
    body = raw(name)
    whole, _ = decode(body)
    crlf = body.replace(b"\n", b"\r\n")
    assert decode(*(crlf[i : i + 1] for i in range(len(crlf))))[0] == whole


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(STREAMS), cuts=st.lists(st.integers(0, 5000), max_size=20))
def test_any_splitting_gives_the_same_chunks(name: str, cuts: list[int]) -> None:
    body = raw(name)
    edges = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    assert decode(*(body[a:b] for a, b in itertools.pairwise(edges)))[0] == decode(body)[0]


def test_an_event_over_the_bound_is_a_failure_and_memory_stays_bounded() -> None:
    huge = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"text":"'
    _, decoder = decode(raw("text_stream.sse")[:400], huge + b"x" * 5000, limit=1024)
    assert decoder.failure is not None and decoder.failure[1] == EVENT_TOO_LARGE
    assert decoder.feed(b"more\n\n") == []


def test_an_event_that_is_not_json_is_a_failure() -> None:
    _, decoder = decode(b"event: message_start\ndata: {not json\n\n")
    assert decoder.failure is not None and decoder.failure[1] == "bad_upstream_response"


def test_a_stream_that_just_stops_is_not_done() -> None:
    body = raw("text_stream.sse")
    _, decoder = decode(body[: body.index(b"event: message_delta")])
    assert not decoder.done and decoder.failure is None
    assert decoder.usage == {"prompt_tokens": 25, "completion_tokens": 1, "total_tokens": 26}


def events(body: bytes) -> list[bytes]:
    return EventSplitter(LIMIT).feed(body)


@pytest.mark.parametrize(
    ("name", "usage", "done"),
    [
        ("text_stream.sse", {"prompt_tokens": 25, "completion_tokens": 15, "total_tokens": 40}, True),
        ("error_stream.sse", {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}, False),
    ],
)
def test_the_usage_of_a_passed_through_stream(name: str, usage: Json, done: bool) -> None:
    sniffer = MessagesUsage()
    for event in events(raw(name)):
        sniffer.event(event)
    assert (sniffer.usage, sniffer.done) == (usage, done)


def test_the_sniffer_reads_usage_updated_by_message_delta() -> None:
    sniffer = MessagesUsage()
    for event in events(raw("tool_stream.sse")):
        sniffer.event(event)
    assert sniffer.usage is not None and sniffer.usage["prompt_tokens"] == 600
    assert sniffer.usage["completion_tokens"] == 89 and sniffer.done
    sniffer = MessagesUsage()
    sniffer.event(
        b'event: content_block_delta\ndata: {"type":"content_block_delta",'
        b'"delta":{"text":"message_stop \\"usage\\""}}\n\n'
    )
    assert sniffer.usage is None and not sniffer.done


# The encoder -------------------------------------------------------------------------------------


def chunk(delta: Json | None = None, finish: str | None = None, usage: Json | None = None) -> Json:
    out: Json = {"id": "chatcmpl-x1", "object": "chat.completion.chunk", "model": "up", "choices": []}
    if delta is not None or finish is not None:
        out["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    if usage is not None:
        out["usage"] = usage
    return out


def parsed(body: bytes) -> list[tuple[str, Json]]:
    """``(event name, data)`` of each event, checking Anthropic's framing on the way."""
    out = []
    for event in body.split(b"\n\n")[:-1]:
        name, data = event.split(b"\n")
        assert name.startswith(b"event: ") and data.startswith(b"data: ")
        payload = orjson.loads(data[6:])
        assert payload["type"] == name[7:].decode()
        out.append((name[7:].decode(), payload))
    assert body.endswith(b"\n\n")
    return out


USAGE = {
    "prompt_tokens": 30,
    "completion_tokens": 9,
    "total_tokens": 39,
    "prompt_tokens_details": {"cached_tokens": 10},
}


def test_text_chunks_become_anthropic_events() -> None:
    encoder = MessagesEncoder("claude-public")
    body = b"".join(
        [
            encoder.chunk(chunk({"role": "assistant"})),
            encoder.chunk(chunk({"content": ""})),
            encoder.chunk(chunk({"content": "Hel"})),
            encoder.chunk(chunk({"content": "lo"})),
            encoder.chunk(chunk({}, "stop")),
            encoder.chunk(chunk(usage=USAGE)),
            encoder.end(None),
        ]
    )
    got = parsed(body)
    assert [name for name, _ in got] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = got[0][1]["message"]
    assert start["id"] == "msg_x1" and start["model"] == "claude-public" and start["content"] == []
    assert start["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert got[1][1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    assert got[2][1]["delta"] == {"type": "text_delta", "text": "Hel"}
    assert got[5][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {
            "input_tokens": 20,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 10,
            "output_tokens": 9,
        },
    }
    assert encoder.chunk(chunk({"content": "late"})) == b"" and encoder.end(USAGE) == b""


def tool_piece(index: int, arguments: str, *, id_: str | None = None, name: str | None = None) -> Json:
    call: Json = {"index": index, "function": {"arguments": arguments}}
    if id_:
        call["id"], call["type"] = id_, "function"
    if name:
        call["function"]["name"] = name
    return chunk({"tool_calls": [call]})


def test_tool_calls_become_one_block_each_in_order() -> None:
    encoder = MessagesEncoder("m")
    body = b"".join(
        encoder.chunk(c)
        for c in [
            chunk({"role": "assistant", "content": "Let me look."}),
            tool_piece(0, "", id_="call_a", name="get_weather"),
            tool_piece(0, '{"city"'),
            tool_piece(0, ': "Paris"}'),
            tool_piece(1, '{"city": "Rome"}', id_="call_b", name="get_weather"),
            chunk({}, "tool_calls"),
        ]
    ) + encoder.end(USAGE)
    got = parsed(body)
    starts = [data for name, data in got if name == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [
        (0, "text"),
        (1, "tool_use"),
        (2, "tool_use"),
    ]
    assert starts[1]["content_block"] == {
        "type": "tool_use",
        "id": "call_a",
        "name": "get_weather",
        "input": {},
    }
    pieces = [d["delta"]["partial_json"] for n, d in got if n == "content_block_delta" and d["index"] == 1]
    assert pieces == ['{"city"', ': "Paris"}']
    stops = [d["index"] for n, d in got if n == "content_block_stop"]
    assert stops == [0, 1, 2]
    assert got[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_a_tool_named_late_is_held_until_named() -> None:
    encoder = MessagesEncoder("m")
    first = encoder.chunk(tool_piece(0, '{"a":', id_="call_z"))
    assert b"content_block_start" not in first
    body = first + encoder.chunk(tool_piece(0, " 1}", name="f")) + encoder.end(USAGE)
    got = parsed(body)
    assert got[1][1]["content_block"] == {"type": "tool_use", "id": "call_z", "name": "f", "input": {}}
    assert [d["delta"]["partial_json"] for n, d in got if n == "content_block_delta"] == ['{"a":', " 1}"]
    assert got[-2][1]["delta"]["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    "pieces",
    [
        [tool_piece(0, '{"a": ', id_="c", name="f")],
        [tool_piece(0, "[1]", id_="c", name="f")],
        [tool_piece(0, "{}", id_="c")],
    ],
)
def test_broken_tool_arguments_end_the_stream_with_an_error(pieces: list[Json]) -> None:
    encoder = MessagesEncoder("m")
    body = b"".join(encoder.chunk(c) for c in pieces) + encoder.end(USAGE)
    got = parsed(body)
    assert got[-1][0] == "error" and got[-1][1]["error"]["type"] == "api_error"
    assert "message_stop" not in [name for name, _ in got]
    assert encoder.end(USAGE) == b"" and encoder.cut("x", "api_error") == b""


def test_an_empty_stream_still_ends_properly() -> None:
    encoder = MessagesEncoder("m")
    got = parsed(encoder.end(None))
    assert [name for name, _ in got] == ["message_start", "message_delta", "message_stop"]
    assert got[1][1]["usage"]["output_tokens"] == 0


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("upstream_timeout", "timeout_error"),
        ("bad_upstream_response", "api_error"),
        ("overloaded_error", "overloaded_error"),
        ("rate_limit_exceeded", "rate_limit_error"),
        (EVENT_TOO_LARGE, "api_error"),
    ],
)
def test_a_cut_is_an_error_event(code: str, kind: str) -> None:
    encoder = MessagesEncoder("m")
    encoder.chunk(chunk({"content": "Hi"}))
    body = encoder.cut("The upstream stopped.", code)
    assert parsed(body) == [
        ("error", {"type": "error", "error": {"type": kind, "message": "The upstream stopped."}})
    ]
    assert body == error_event("The upstream stopped.", code)
    assert encoder.end(USAGE) == b""


@pytest.mark.parametrize("name", ["text_stream.sse", "tool_stream.sse", "thinking_stream.sse"])
def test_decoding_then_encoding_gives_anthropics_stream_back(name: str) -> None:
    """Anthropic bytes → chat chunks → Anthropic bytes → chat chunks: the same answer both times."""
    first, decoder = decode(raw(name))
    encoder = MessagesEncoder("claude-opus-4-6")
    again = b"".join(encoder.chunk(c) for c in first) + encoder.end(decoder.usage)
    second, redecoder = decode(again)
    assert text_of(second) == text_of(first)
    assert calls_of(second) == calls_of(first)
    assert finish_of(second) == finish_of(first)
    assert redecoder.usage == decoder.usage and redecoder.done


def test_text_after_a_tool_call_opens_a_new_text_block() -> None:
    encoder = MessagesEncoder("m")
    body = b"".join(
        encoder.chunk(c)
        for c in [chunk({"content": "A"}), tool_piece(0, "{}", id_="c", name="f"), chunk({"content": "B"})]
    ) + encoder.end(USAGE)
    got = parsed(body)
    starts = [(d["index"], d["content_block"]["type"]) for n, d in got if n == "content_block_start"]
    assert starts == [(0, "text"), (1, "tool_use"), (2, "text")]
    deltas = [
        (d["index"], d["delta"].get("text")) for n, d in got if n == "content_block_delta" and d["index"] != 1
    ]
    assert deltas == [(0, "A"), (2, "B")]
    assert [d["index"] for n, d in got if n == "content_block_stop"] == [0, 1, 2]


def test_a_refusal_is_shown_as_text_and_a_content_filter_as_refusal() -> None:
    encoder = MessagesEncoder("m")
    body = encoder.chunk(chunk({"refusal": "I can't help with that."}, "content_filter")) + encoder.end(USAGE)
    got = parsed(body)
    assert got[2][1]["delta"] == {"type": "text_delta", "text": "I can't help with that."}
    assert got[-2][1]["delta"]["stop_reason"] == "refusal"


def test_comments_and_events_without_data_are_ignored() -> None:
    body = raw("text_stream.sse")
    chunks, decoder = decode(b": keep-alive\n\nevent: ping\n\n" + body)
    assert chunks == decode(body)[0] and decoder.failure is None and decoder.done
