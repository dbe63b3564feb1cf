"""ConverseStream's event stream as chat chunks: any split of the bytes, exceptions, the size bound."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import pytest

from headwater.gateway.wire.bedrock import EVENT_TOO_LARGE, ConverseStreamDecoder
from tests.providers.fakes.bedrock import STREAM_THROTTLED, event_frame, exception_frame, frame, stream_frames

LIMIT = 64 * 1024


def decode(
    body: bytes, cuts: list[int], limit: int = LIMIT
) -> tuple[list[dict[str, Any]], ConverseStreamDecoder]:
    decoder = ConverseStreamDecoder(limit, "claude")
    chunks: list[dict[str, Any]] = []
    start = 0
    for cut in [*cuts, len(body)]:
        chunks += decoder.feed(body[start:cut])
        start = cut
    return chunks, decoder


def summary(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """What a client reassembles from the chunks (ids and timestamps aside)."""
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for call in chunk["choices"][0]["delta"].get("tool_calls", []) if chunk["choices"] else []:
            entry = calls.setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
            entry["id"] += call.get("id") or ""
            entry["name"] += call.get("function", {}).get("name") or ""
            entry["arguments"] += call.get("function", {}).get("arguments") or ""
    finishes = [
        c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]
    ]
    return {
        "text": text,
        "calls": calls,
        "finish": finishes,
        "usage": [c["usage"] for c in chunks if "usage" in c],
    }


def test_a_text_stream() -> None:
    chunks, decoder = decode(b"".join(stream_frames()), [])
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "claude" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert summary(chunks) == {
        "text": "Hello! How can I help you today?",
        "calls": {},
        "finish": ["stop"],
        "usage": [{"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}],
    }
    assert chunks[-1]["choices"] == []  # the usage chunk comes last, without choices
    assert decoder.done and decoder.failure is None
    assert decoder.usage == {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}


def test_a_tool_call_stream() -> None:
    chunks, decoder = decode(b"".join(stream_frames("get_weather")), [])
    start = next(c for c in chunks if c["choices"] and "tool_calls" in c["choices"][0]["delta"])
    assert start["choices"][0]["delta"]["tool_calls"] == [
        {
            "index": 0,
            "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        }
    ]
    result = summary(chunks)
    assert result["text"] == "I'll check the weather."
    assert result["calls"] == {
        0: {
            "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
            "name": "get_weather",
            "arguments": '{"location": "Paris"}',
        }
    }
    assert result["finish"] == ["tool_calls"]
    assert decoder.done


@pytest.mark.parametrize("tool", [None, "get_weather"])
def test_every_split_of_the_bytes_gives_the_same_chunks(tool: str | None) -> None:
    body = b"".join(stream_frames(tool))
    whole = summary(decode(body, [])[0])
    for cut in range(1, len(body)):
        chunks, decoder = decode(body, [cut])
        assert summary(chunks) == whole, cut
        assert decoder.done and decoder.failure is None
    chunks, decoder = decode(body, list(range(1, len(body))))  # one byte at a time
    assert summary(chunks) == whole and decoder.done


def test_an_exception_frame_mid_stream_is_a_failure() -> None:
    frames = stream_frames()
    body = (
        b"".join(frames[:2]) + exception_frame("throttlingException", STREAM_THROTTLED) + b"".join(frames[2:])
    )
    for cut in range(1, len(body), 7):
        chunks, decoder = decode(body, [cut])
        assert summary(chunks)["text"] == "Hello"  # what came before the exception was delivered
        assert decoder.failure == (f"Bedrock: {STREAM_THROTTLED}", "rate_limit_exceeded")
        assert not decoder.done and decoder.usage is None
        assert decoder.feed(b"".join(frames)) == []  # nothing after a failure


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("modelStreamErrorException", "upstream_model_error"),
        ("validationException", "invalid_request"),
        ("serviceUnavailableException", "upstream_unavailable"),
        ("internalServerException", "bad_upstream_response"),
        ("somethingNewException", "bad_upstream_response"),
    ],
)
def test_each_exception_type_has_its_code(name: str, code: str) -> None:
    _, decoder = decode(exception_frame(name, "It broke."), [])
    assert decoder.failure == ("Bedrock: It broke.", code)


def test_an_error_message_frame_is_a_failure() -> None:
    error = frame({":message-type": "error", ":error-code": "InternalFailure", ":error-message": "Oops"}, b"")
    _, decoder = decode(error, [])
    assert decoder.failure == ("Bedrock: Oops", "bad_upstream_response")


def test_a_frame_over_the_limit_fails_as_soon_as_its_prelude_is_in() -> None:
    big = event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x" * 5000}})
    small = b"".join(stream_frames()[:2])
    body = small + big
    for cut in range(len(small) + 1, len(small) + 13):  # the big frame's prelude split anywhere
        decoder = ConverseStreamDecoder(4096, "claude")
        chunks = decoder.feed(body[:cut])
        assert decoder.failure is None or cut >= len(small) + 12
        decoder.feed(body[cut : len(small) + 12])  # only the prelude, never the payload
        assert summary(chunks)["text"] == "Hello"
        assert decoder.failure is not None and decoder.failure[1] == EVENT_TOO_LARGE
        assert "4096" in decoder.failure[0]
        assert decoder.feed(body[len(small) + 12 :]) == []
    # within the limit, the same frame passes
    chunks, decoder = decode(body, [len(small) + 3], limit=8192)
    assert summary(chunks)["text"] == "Hello" + "x" * 5000 and decoder.failure is None


def test_a_frame_over_botocores_own_maximum_is_too_large_not_buffered() -> None:
    prelude = struct.pack(">II", 50 * 1024 * 1024, 0)
    head = prelude + struct.pack(">I", zlib.crc32(prelude))
    _, decoder = decode(head + b"\0" * 100, [], limit=100 * 1024 * 1024)
    assert decoder.failure is not None and decoder.failure[1] == EVENT_TOO_LARGE


def test_a_corrupted_frame_is_a_failure() -> None:
    body = bytearray(b"".join(stream_frames()))
    body[40] ^= 0xFF  # inside the first frame: its message CRC no longer matches
    chunks, decoder = decode(bytes(body), [])
    assert chunks == []
    assert decoder.failure is not None and decoder.failure[1] == "bad_upstream_response"
    _, decoder = decode(b"\0\0\0\x10garbage-garbage-garbage", [])
    assert decoder.failure is not None and decoder.failure[1] == "bad_upstream_response"


def test_a_payload_that_is_not_json_is_a_failure() -> None:
    bad = frame({":event-type": "contentBlockDelta", ":message-type": "event"}, b"{not json")
    _, decoder = decode(bad, [])
    assert decoder.failure == (
        "Bedrock sent a stream event that is not a JSON object.",
        "bad_upstream_response",
    )


def test_tool_input_for_a_block_never_started_is_a_failure() -> None:
    delta = {"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{}"}}}
    _, decoder = decode(
        event_frame("messageStart", {"role": "assistant"}) + event_frame("contentBlockDelta", delta), []
    )
    assert decoder.failure is not None and decoder.failure[1] == "bad_upstream_response"


def test_a_stream_cut_before_its_metadata_is_not_done() -> None:
    chunks, decoder = decode(b"".join(stream_frames()[:-1]), [])
    assert summary(chunks)["finish"] == ["stop"]
    assert not decoder.done and decoder.usage is None and decoder.failure is None


def test_cache_tokens_count_as_prompt_tokens_and_reasoning_is_dropped() -> None:
    usage = {"inputTokens": 3, "outputTokens": 5, "totalTokens": 1208, "cacheReadInputTokens": 1000}
    usage["cacheWriteInputTokens"] = 200
    frames = [
        event_frame("messageStart", {"role": "assistant"}),
        event_frame(
            "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hmm"}}}
        ),
        event_frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Done."}}),
        event_frame("messageStop", {"stopReason": "max_tokens"}),
        event_frame("metadata", {"usage": usage, "metrics": {"latencyMs": 1}}),
    ]
    chunks, decoder = decode(b"".join(frames), [])
    assert summary(chunks)["text"] == "Done." and summary(chunks)["finish"] == ["length"]
    assert decoder.usage == {
        "prompt_tokens": 1203,
        "completion_tokens": 5,
        "total_tokens": 1208,
        "prompt_tokens_details": {"cached_tokens": 1000},
    }


def test_metadata_without_usable_usage_is_a_failure() -> None:
    body = event_frame("metadata", {"usage": {"inputTokens": "many", "outputTokens": 1}})
    _, decoder = decode(body, [])
    assert not decoder.done and decoder.failure is not None


def test_the_fakes_frames_carry_bedrocks_padding() -> None:
    # Bedrock pads each event's payload with a "p" field; the decoder must not mistake it for content
    payload = stream_frames()[1][12:]
    assert b'"p": "' in payload and json.loads(payload[payload.index(b"{") : payload.rindex(b"}") + 1])["p"]
