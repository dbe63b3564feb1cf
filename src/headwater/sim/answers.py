"""The choices of a completion: text, JSON for ``response_format``, or a tool call.

Each choice is a sequence of tokens (:mod:`headwater.sim.pieces`) cut to the request's room
(``finish_reason: length``), then before the first ``stop`` sequence it contains (``stop``), with
deterministic logprobs when asked. Every figure derives from the server seed, the model, the prompt
(with the request's ``seed``) and the choice's index, so choice 0 is the reply of a one-choice call
and the same request always gets the same answer.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from headwater.sim import tools
from headwater.sim.logprobs import TokenLogprob, draw
from headwater.sim.options import Options, Tool
from headwater.sim.pieces import split, word_tokens
from headwater.sim.responses import SimError
from headwater.sim.schema_core import CHOICE_BUDGET, REQUEST_BUDGET, Budget, Schema, SchemaError
from headwater.sim.text import endless_words, reply_words, seeded_rng

#: What ``response_format: json_object`` (or ``json_schema`` without a schema) answers.
JSON_OBJECT: Schema = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 2,
    "additionalProperties": {"type": "string"},
}
#: The longest JSON text a choice may generate, in characters.
MAX_JSON = 256 * 1024


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    name_tokens: int
    #: The arguments' tokens (``"".join`` is the JSON text).
    pieces: tuple[str, ...]

    @property
    def arguments(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True, slots=True)
class Choice:
    #: The content's tokens (none for a tool call).
    tokens: tuple[str, ...]
    finish: str
    tool_call: ToolCall | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def steps(self) -> int:
        """Stream chunks before the finish chunk: a token each, or a tool call's name and then a
        chunk per token of its arguments."""
        return len(self.tokens) if self.tool_call is None else 1 + len(self.tool_call.pieces)

    @property
    def cost(self) -> int:
        """Completion tokens, as the gateway's estimator counts them (content, call name, arguments)."""
        call = self.tool_call
        return len(self.tokens) + (0 if call is None else call.name_tokens + len(call.pieces))


@dataclass(frozen=True, slots=True)
class Request:
    """What the choices of one request depend on."""

    seed: int
    model: str
    material: bytes  # the prompt, and the request's seed
    room: int  # the most tokens a choice may have
    endless: bool  # ignore_eos
    options: Options
    messages: list[dict[str, Any]] | None = None  # chat only

    @property
    def calls_tool(self) -> bool:
        return self.messages is not None and tools.calls_tool(self.options, self.messages)

    @property
    def structured(self) -> bool:
        """Whether a schema is involved (worth a worker thread)."""
        return self.calls_tool or self.options.response != "text"

    def rng(self, purpose: bytes, index: int, *more: bytes) -> random.Random:
        return seeded_rng(self.seed, purpose, self.model.encode(), self.material, b"%d" % index, *more)


def choices(request: Request, count: int) -> list[Choice]:
    """``count`` choices; a schema that cannot be satisfied is a 400 naming it."""
    left = REQUEST_BUDGET
    out = []
    for index in range(count):
        budget = Budget(min(CHOICE_BUDGET, left))
        out.append(_choice(request, index, budget))
        left -= budget.units - max(budget.left, 0)
    return out


def _choice(request: Request, index: int, budget: Budget) -> Choice:
    options = request.options
    if request.calls_tool:
        assert request.messages is not None
        tool = tools.pick(options, request.messages, request.rng(b"tool", index))
        return _call(request, index, tool, budget)
    if options.response != "text":
        schema = (
            JSON_OBJECT if options.response == "json_object" or options.schema is None else options.schema
        )
        try:
            text = _dump(_generate(schema, request.rng(b"json", index), budget))
        except (SchemaError, RecursionError) as error:
            raise SimError(
                400,
                f"Invalid schema for response_format: {_reason(error)}",
                param="response_format",
                code=None,
            ) from None
        return _finish(request, index, split(text), "stop")
    if request.endless:
        words = endless_words(request.seed, request.model, request.material, index, request.room)
    else:
        words = reply_words(request.seed, request.model, request.material, index)
    finish = "length" if request.endless or len(words) > request.room else "stop"
    return _finish(request, index, word_tokens(words), finish)


def _generate(schema: Schema, rng: random.Random, budget: Budget, *, want_object: bool = False) -> Any:
    # imported here: the schema machinery (jsonschema-rs, rstr) loads with the first request that
    # has a schema, never for plain text
    from headwater.sim.schema_gen import generate

    return generate(schema, rng, budget, want_object=want_object)


def _reason(error: Exception) -> str:
    # RecursionError: an enum or const value of the schema nested deeper than Python goes
    return "a value of the schema nests too deeply" if isinstance(error, RecursionError) else str(error)


def _dump(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if len(text) > MAX_JSON:
        raise SchemaError(f"the generated value would be longer than {MAX_JSON} characters")
    return text


def _finish(request: Request, index: int, tokens: tuple[str, ...], finish: str) -> Choice:
    """Cut to the room, then before the first stop sequence; draw the logprobs."""
    if len(tokens) > request.room:
        tokens, finish = tokens[: request.room], "length"
    stops = request.options.stop
    if stops:
        text = "".join(tokens)
        found = [at for at in (text.find(stop) for stop in stops) if at >= 0]
        if found:
            tokens, finish = split(text[: min(found)]), "stop"
    top = request.options.logprobs
    logprobs = None if top is None else draw(tokens, request.rng(b"logprobs", index))
    return Choice(tokens, finish, logprobs=logprobs)


def _call(request: Request, index: int, tool: Tool, budget: Budget) -> Choice:
    try:
        arguments = _generate(
            tool.parameters, request.rng(b"args", index, tool.name.encode()), budget, want_object=True
        )
        if not isinstance(arguments, dict):
            raise SchemaError("function parameters must describe an object")
        pieces = split(_dump(arguments))
    except (SchemaError, RecursionError) as error:
        raise SimError(
            400,
            f"Invalid schema for function '{tool.name}': {_reason(error)}",
            param=f"tools[{tool.index}].function.parameters",
            code="invalid_function_parameters",
        ) from None
    name_tokens = len(split(tool.name))
    room = request.room - name_tokens
    if room < 0:  # not even the name fits: nothing to show for it
        return Choice((), "length")
    # as OpenAI: "tool_calls" when the model chose to call ("auto", "required"), "stop" when
    # tool_choice named the function
    finish = "stop" if request.options.forced is not None else "tool_calls"
    if len(pieces) > room:
        pieces, finish = pieces[:room], "length"
    call_id = tools.call_id(
        b"%d\0%d\0%s\0" % (request.seed, index, request.model.encode()) + request.material
    )
    return Choice((), finish, ToolCall(call_id, tool.name, name_tokens, pieces))
