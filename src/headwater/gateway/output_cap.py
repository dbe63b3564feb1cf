"""What a call may make the upstream generate, which is what admission reserves.

OpenAI and vLLM generate up to ``max_completion_tokens`` (it wins over ``max_tokens``) tokens for
each of ``n`` choices, and completions generate ``best_of`` sequences (at least ``n``) of which they
return ``n``. So a call may produce ``per_choice × sequences`` output tokens, where:

* ``per_choice`` is ``max_completion_tokens``, else ``max_tokens``, else the model's
  ``max_output_tokens``, else ``HEADWATER_DEFAULT_MAX_TOKENS``;
* ``sequences`` is ``max(n, best_of)`` (each 1 by default).

When the client gave no maximum, that default is only an assumption about the upstream; so when the
call is counted on a token or budget limit, the gateway makes it true by sending ``max_tokens``
upstream (:attr:`OutputCap.inject`). A maximum above the model's ``max_output_tokens`` is refused
(400, naming the parameter), as are ``n`` and ``best_of`` outside 1..128 and a ``best_of`` below ``n``.
Embedding models generate nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater.errors import BadRequest
from headwater.snapshot import ModelView

MAX_CHOICES = 128


@dataclass(slots=True)  # made per call: not frozen, a third of the cost (issue 16)
class OutputCap:
    per_choice: int
    sequences: int
    #: The ``max_tokens`` to add to the upstream request (the client set none), or None.
    inject: int | None = None

    @property
    def total(self) -> int:
        """The most output tokens the upstream may generate for this call."""
        return self.per_choice * self.sequences


NOTHING = OutputCap(0, 1)


def _count(payload: dict[str, Any], param: str) -> int | None:
    value = payload.get(param)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_CHOICES:
        raise BadRequest(
            f"Invalid '{param}': expected an integer from 1 to {MAX_CHOICES}.",
            code="invalid_value",
            param=param,
        )
    return value


def output_cap(
    payload: dict[str, Any], model: ModelView, default_max_tokens: int, counted: bool
) -> OutputCap:
    """The output ``payload`` may generate on ``model``; ``counted``: the call has a token or budget
    rule, so a maximum the client did not give is sent upstream."""
    if model.kind == "embedding":
        return NOTHING
    n = _count(payload, "n") or 1
    best_of = _count(payload, "best_of")
    if best_of is not None and best_of < n:
        raise BadRequest(
            f"Invalid 'best_of': it must be at least n ({n}), got {best_of}.",
            code="invalid_value",
            param="best_of",
        )
    sequences = max(n, best_of or 1)
    # requests.parse has checked that both are positive integers when present.
    param = "max_completion_tokens" if payload.get("max_completion_tokens") is not None else "max_tokens"
    asked = payload.get(param)
    cap = model.max_output_tokens
    if isinstance(asked, int):
        if cap is not None and asked > cap:
            raise BadRequest(
                f"{param} is too large: {asked}. The model `{model.name}` supports at most {cap} "
                f"completion tokens, whereas you provided {asked}.",
                code="invalid_value",
                param=param,
            )
        return OutputCap(asked, sequences)
    per_choice = cap if cap is not None else default_max_tokens
    return OutputCap(per_choice, sequences, per_choice if counted else None)
