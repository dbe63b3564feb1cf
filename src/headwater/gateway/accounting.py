"""Turning a finished call into a usage event.

An upstream's ``usage`` is not trusted as it comes: each figure must be an integer (not a boolean, a
float or a string) in ``[0, MAX_TOKENS]``. A figure outside that is replaced by the bundled
estimate (:mod:`headwater.token_estimate`) and the event is flagged ``estimated``, so one absurd number can
never reach the usage store, a budget or a bill. An absent ``completion_tokens`` is 0 (embeddings
report none); an absent ``prompt_tokens`` is estimated.

A call the upstream answered without usage (a stream it broke or a client left, a response without
``usage``) is estimated as well: the prompt from the request body, the completion from what was
received. A call that failed before the upstream answered counts 0 tokens, exactly.

The estimator costs about 60 ns per byte of text (0.5 s for an 8 MB prompt): a large body
(:data:`LARGE_BODY` bytes or more) is estimated in a worker thread (:func:`estimate_prompt`), once,
so that one caller's huge prompt never stalls every other call of the worker.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headwater import token_estimate
from headwater.clock import epoch, monotonic
from headwater.policies.plan import NO_ATTRIBUTION, Attribution
from headwater.snapshot import DeploymentView, KeyView, ModelView
from headwater.usage.event_ids import new_event_id
from headwater.usage.events import UsageEvent, UsageSink

if TYPE_CHECKING:
    from headwater.gateway.admission import Ticket

#: The largest token figure accepted from an upstream for one call (a billion tokens).
MAX_TOKENS = 10**9
#: Request bodies at least this large have their prompt estimated off the event loop.
LARGE_BODY = 256 * 1024


async def estimate_prompt(payload: dict[str, Any], body_bytes: int) -> int:
    """The estimated prompt tokens of a request body; in a worker thread when the body is large."""
    if body_bytes < LARGE_BODY:
        return token_estimate.count_prompt(payload)
    return await asyncio.to_thread(token_estimate.count_prompt, payload)


@dataclass(slots=True)
class Call:
    """What the gateway knows about an admitted call while it runs."""

    request_id: str
    key: KeyView
    model: ModelView
    endpoint: str
    payload: dict[str, Any]
    started: float
    streamed: bool
    deployment: DeploymentView | None = None
    ticket: Ticket | None = None
    #: The request body's size, and its prompt estimate once made (admission, or before accounting).
    body_bytes: int = 0
    prompt_estimate: int | None = None
    #: Groups, cost center and admitting policy, frozen when the call was admitted.
    attribution: Attribution = NO_ATTRIBUTION

    async def estimate(self) -> int:
        """The prompt estimate, made once (off the event loop for a large body)."""
        if self.prompt_estimate is None:
            self.prompt_estimate = await estimate_prompt(self.payload, self.body_bytes)
        return self.prompt_estimate

    def _prompt(self) -> int:
        found = self.prompt_estimate
        return found if found is not None else token_estimate.count_prompt(self.payload)

    def record(
        self,
        sink: UsageSink,
        *,
        status: str,
        http_status: int,
        usage: dict[str, Any] | None,
        completion_estimate: int = 0,
        first_token_at: float | None = None,
        answered: bool | None = None,
    ) -> UsageEvent:
        """Emit the call's usage event. ``answered`` (default: not an error): the upstream got the
        prompt and answered, so missing usage is estimated rather than 0."""
        estimated = False
        prompt = completion = 0
        if usage is not None:
            reported = _count(usage.get("prompt_tokens"))
            if reported is None:
                prompt, estimated = self._prompt(), True
            else:
                prompt = reported
            raw = usage.get("completion_tokens")
            reported = 0 if raw is None else _count(raw)
            if reported is None:
                completion, estimated = completion_estimate, True
            else:
                completion = reported
        elif answered if answered is not None else status != "error":
            prompt = self._prompt()
            completion = completion_estimate
            estimated = True
        now = monotonic()
        deployment = self.deployment
        event = UsageEvent(
            ts=epoch(),
            request_id=self.request_id,
            key_id=self.key.id,
            principal=self.key.principal,
            model=self.model.name,
            deployment=deployment.id if deployment else "",
            provider=deployment.provider if deployment else "",
            endpoint=self.endpoint,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost=self.model.pricing.cost(prompt, completion),
            currency=self.model.pricing.currency,
            status=status,
            http_status=http_status,
            latency_ms=(now - self.started) * 1000.0,
            ttft_ms=(first_token_at - self.started) * 1000.0 if first_token_at is not None else None,
            streamed=self.streamed,
            estimated=estimated,
            event_id=new_event_id(),
            groups=self.attribution.groups,
            cost_center=self.attribution.cost_center,
            policy=self.attribution.policy,
        )
        sink.emit(event)
        return event


def _count(value: Any) -> int | None:
    """A token figure if it is a sane one, else None."""
    return value if type(value) is int and 0 <= value <= MAX_TOKENS else None


def trusted(usage: Any) -> bool:
    """Whether ``usage`` is an object whose figures will be taken as they are (nothing estimated)."""
    if not isinstance(usage, dict) or _count(usage.get("prompt_tokens")) is None:
        return False
    completion = usage.get("completion_tokens")
    return completion is None or _count(completion) is not None


async def estimate_completion(response: dict[str, Any], size: int) -> int:
    """The completion of a response without usage, estimated off the event loop when it is large."""
    if size < LARGE_BODY:
        return completion_text_tokens(response)
    return await asyncio.to_thread(completion_text_tokens, response)


def completion_text_tokens(response: dict[str, Any]) -> int:
    """Estimated completion tokens of a non-streamed response: its texts and its tool calls."""
    total = 0
    choices = response.get("choices")
    if isinstance(choices, list):
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            message = choice.get("message")
            if isinstance(message, dict):
                total += token_estimate.count_content(message.get("content"))
                total += token_estimate.count_tool_calls(message.get("tool_calls"))
            else:
                text = choice.get("text")
                if isinstance(text, str):
                    total += token_estimate.count_text(text)
    return total
