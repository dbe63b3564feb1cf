"""Chat chunks → the Responses API's stream events, and the usage of a passed-through Responses stream."""

from __future__ import annotations

from typing import Any

import orjson
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from headwater.gateway.wire.base import Json
from headwater.gateway.wire.responses import ResponsesEncoder, ResponsesUsage

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
USAGE = {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}


def delta(**fields: Any) -> Json:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": fields, "finish_reason": None}],
    }


def finish(reason: str) -> Json:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": reason}],
    }


def call(index: int, arguments: str, *, call_id: str | None = None, name: str | None = None) -> Json:
    function: Json = {"arguments": arguments}
    if name is not None:
        function["name"] = name
    tool: Json = {"index": index, "function": function}
    if call_id is not None:
        tool.update(id=call_id, type="function")
    return delta(tool_calls=[tool])


def encode(chunks: list[Json], end: Json | None = None, **request: Any) -> tuple[bytes, ResponsesEncoder]:
    encoder = ResponsesEncoder({"model": "m", "input": "x", **request}, "resp_1", 1700000000, "public")
    body = b"".join(encoder.chunk(chunk) for chunk in chunks) + encoder.end(end)
    return body, encoder


def events(body: bytes) -> list[Json]:
    """Every event, checked: SSE framing, the event name equal to the type, validated by the SDK."""
    parsed = []
    assert body.endswith(b"\n\n")
    for block in body[:-2].split(b"\n\n"):
        name, data = block.split(b"\n")
        assert name.startswith(b"event: ") and data.startswith(b"data: ")
        event = orjson.loads(data[6:])
        assert event["type"] == name[7:].decode()
        EVENTS.validate_python(event)
        parsed.append(event)
    assert [event["sequence_number"] for event in parsed] == list(range(len(parsed)))
    return parsed


def test_text_stream_has_openais_event_sequence() -> None:
    chunks = [
        delta(role="assistant", content=""),
        delta(content="Hel"),
        delta(content=""),
        delta(content="lo"),
        finish("stop"),
        {"object": "chat.completion.chunk", "choices": [], "usage": USAGE},
    ]
    body, encoder = encode(chunks)
    stream = events(body)
    assert [event["type"] for event in stream] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert stream[0]["response"]["status"] == "in_progress" and stream[0]["response"]["output"] == []
    assert [event["delta"] for event in stream[4:6]] == ["Hel", "lo"]
    item_id = stream[2]["item"]["id"]
    assert all(event["item_id"] == item_id for event in stream[3:8])
    assert stream[6]["text"] == "Hello" and stream[7]["part"]["text"] == "Hello"
    assert stream[8]["item"]["status"] == "completed" and stream[8]["item"]["content"][0]["text"] == "Hello"
    final = stream[-1]["response"]
    assert final == encoder.response
    parsed = Response.model_validate(final)
    assert (
        parsed.status == "completed" and parsed.output_text == "Hello" and final["output"][0]["id"] == item_id
    )
    assert parsed.usage is not None and parsed.usage.input_tokens == 5 and parsed.usage.output_tokens == 9


def test_end_usage_wins_over_the_usage_chunk_and_none_is_fine() -> None:
    chunks = [delta(content="a"), finish("stop"), {"choices": [], "usage": USAGE}]
    _, encoder = encode(chunks, {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})
    assert encoder.response is not None and encoder.response["usage"]["total_tokens"] == 3
    _, encoder = encode([delta(content="a"), finish("stop")])
    assert encoder.response is not None and encoder.response["usage"] is None


def test_tool_calls_in_many_pieces_and_several_calls() -> None:
    chunks = [
        delta(role="assistant"),
        delta(content="Checking."),
        call(0, "", call_id="call_a", name="weather"),
        call(0, '{"ci'),
        call(0, 'ty": "Par'),
        call(0, 'is"}'),
        call(1, '{"city"', call_id="call_b", name="weather"),
        call(1, ': "Rome"}'),
        finish("tool_calls"),
        {"choices": [], "usage": USAGE},
    ]
    body, encoder = encode(chunks)
    stream = events(body)
    kinds = [event["type"] for event in stream]
    assert kinds.count("response.function_call_arguments.delta") == 5
    added = [event for event in stream if event["type"] == "response.output_item.added"]
    assert [event["item"]["type"] for event in added] == ["message", "function_call", "function_call"]
    assert [event["output_index"] for event in added] == [0, 1, 2]
    assert added[1]["item"]["call_id"] == "call_a" and added[1]["item"]["name"] == "weather"
    assert added[1]["item"]["arguments"] == "" and added[1]["item"]["status"] == "in_progress"
    # the message closes when the first call begins
    assert kinds.index("response.output_item.done") < kinds.index("response.function_call_arguments.delta")
    done = [event for event in stream if event["type"] == "response.function_call_arguments.done"]
    assert [event["arguments"] for event in done] == ['{"city": "Paris"}', '{"city": "Rome"}']
    final = encoder.response
    assert final is not None and final["status"] == "completed"
    assert [(item["type"], item.get("call_id")) for item in final["output"]] == [
        ("message", None),
        ("function_call", "call_a"),
        ("function_call", "call_b"),
    ]
    assert (
        final["output"][2]["arguments"] == '{"city": "Rome"}' and final["output"][2]["status"] == "completed"
    )


def test_interleaved_call_arguments_stay_with_their_call() -> None:
    chunks = [
        call(0, '{"a":', call_id="c0", name="f"),
        call(1, '{"b":', call_id="c1", name="g"),
        call(0, "1}"),
        call(1, "2}"),
        finish("tool_calls"),
    ]
    _, encoder = encode(chunks)
    assert encoder.response is not None
    assert [item["arguments"] for item in encoder.response["output"]] == ['{"a":1}', '{"b":2}']


def test_a_call_without_an_id_gets_one() -> None:
    _, encoder = encode([call(0, "{}", name="f"), finish("tool_calls")])
    assert encoder.response is not None and encoder.response["output"][0]["call_id"].startswith("call_")


def test_length_finish_is_incomplete() -> None:
    body, encoder = encode(
        [delta(content="Half"), finish("length"), {"choices": [], "usage": USAGE}], max_output_tokens=2
    )
    stream = events(body)
    assert stream[-1]["type"] == "response.incomplete"
    final = stream[-1]["response"]
    assert final["status"] == "incomplete" and final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"][0]["status"] == "incomplete" and final["max_output_tokens"] == 2
    assert encoder.response == final


def test_reasoning_then_text_and_a_refusal() -> None:
    body, encoder = encode(
        [
            delta(reasoning_content="think"),
            delta(reasoning_content="ing"),
            delta(content="Hi"),
            delta(refusal="No more."),
            finish("stop"),
        ]
    )
    stream = events(body)
    kinds = [event["type"] for event in stream]
    assert "response.reasoning_text.delta" in kinds and "response.refusal.delta" in kinds
    assert next(e for e in stream if e["type"] == "response.reasoning_text.done")["text"] == "thinking"
    assert next(e for e in stream if e["type"] == "response.refusal.done")["refusal"] == "No more."
    assert encoder.response is not None
    reasoning, message = encoder.response["output"]
    assert reasoning["type"] == "reasoning" and reasoning["content"] == [
        {"type": "reasoning_text", "text": "thinking"}
    ]
    assert [part["type"] for part in message["content"]] == ["output_text", "refusal"]
    assert Response.model_validate(encoder.response).output_text == "Hi"


def test_an_empty_stream_still_answers_one_empty_message() -> None:
    body, encoder = encode([delta(role="assistant", content=""), finish("stop")])
    stream = events(body)
    assert stream[-1]["type"] == "response.completed"
    assert encoder.response is not None and Response.model_validate(encoder.response).output_text == ""
    assert [event["type"] for event in stream].count("response.output_item.done") == 1
    body, _ = encode([])  # nothing at all came
    assert events(body)[0]["type"] == "response.created"


def test_cut_ends_with_an_error_event_and_a_failed_response() -> None:
    encoder = ResponsesEncoder({"model": "m", "input": "x"}, "resp_1", 1, "public")
    body = encoder.chunk(delta(content="partial")) + encoder.cut("The upstream went away.", "upstream_cut")
    stream = events(body)
    error = stream[-1]
    assert error["type"] == "error" and error["code"] == "upstream_cut"
    assert error["message"] == "The upstream went away." and error["param"] is None
    assert error["error"]["message"] == "The upstream went away." and error["error"]["code"] == "upstream_cut"
    assert encoder.response is not None and encoder.response["status"] == "failed"
    assert encoder.response["output"][0]["status"] == "incomplete"
    Response.model_validate(encoder.response)
    assert encoder.end(None) == b"" and encoder.chunk(delta(content="late")) == b""


def test_chunks_of_other_choices_and_junk_are_ignored() -> None:
    junk: list[Json] = [
        {"choices": None},
        {"choices": [None, {"index": 1, "delta": {"content": "other"}}]},
        {"choices": [{"index": 0, "delta": {"content": 5, "tool_calls": "x"}}]},
    ]
    _, encoder = encode([*junk, delta(content="ok"), finish("stop")])
    assert encoder.response is not None and Response.model_validate(encoder.response).output_text == "ok"


# --- ResponsesUsage --------------------------------------------------------------------------------


def _feed(body: bytes) -> ResponsesUsage:
    sniffer = ResponsesUsage()
    for block in body[:-2].split(b"\n\n"):
        sniffer.event(block + b"\n\n")
    return sniffer


def test_usage_of_a_passed_through_stream() -> None:
    body, encoder = encode(
        [delta(content="response.completed is just text"), finish("stop"), {"choices": [], "usage": USAGE}]
    )
    partial = _feed(body.rsplit(b"event: response.completed", 1)[0])
    assert partial.usage is None and partial.done is False
    sniffer = _feed(body)
    assert sniffer.done is True and sniffer.failure is None
    assert sniffer.usage == {
        "prompt_tokens": 5,
        "completion_tokens": 9,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    assert sniffer.response == encoder.response
    body, _ = encode([delta(content="x"), finish("length")])
    assert _feed(body).done is True


def test_failures_of_a_passed_through_stream() -> None:
    failed = {
        "type": "response.failed",
        "sequence_number": 3,
        "response": {
            "id": "r",
            "status": "failed",
            "error": {"code": "server_error", "message": "boom"},
            "usage": {"input_tokens": 2, "output_tokens": 0, "total_tokens": 2},
        },
    }
    sniffer = ResponsesUsage()
    sniffer.event(b"event: response.failed\ndata: " + orjson.dumps(failed) + b"\n\n")
    assert sniffer.done is True and sniffer.failure == ("boom", "server_error")
    assert sniffer.usage is not None and sniffer.usage["prompt_tokens"] == 2
    for data in (
        {
            "type": "error",
            "code": "rate_limit_exceeded",
            "message": "slow down",
            "param": None,
            "sequence_number": 1,
        },
        {
            "type": "error",
            "sequence_number": 1,
            "error": {"code": "rate_limit_exceeded", "message": "slow down"},
        },
    ):
        sniffer = ResponsesUsage()
        sniffer.event(b"data: " + orjson.dumps(data) + b"\n\n")
        assert sniffer.failure == ("slow down", "rate_limit_exceeded") and sniffer.done is False
    sniffer = ResponsesUsage()
    sniffer.event(b'data: {"type":"response.completed", broken\n\n')
    assert sniffer.done is False and sniffer.usage is None
