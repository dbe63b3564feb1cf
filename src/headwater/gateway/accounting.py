"""Turning a finished call into a usage event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headwater import tokens
from headwater.clock import epoch, monotonic
from headwater.snapshot import DeploymentView, KeyView, ModelView
from headwater.usage.events import UsageEvent, UsageSink

if TYPE_CHECKING:
    from headwater.gateway.admission import Ticket


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

    def record(
        self,
        sink: UsageSink,
        *,
        status: str,
        http_status: int,
        usage: dict[str, Any] | None,
        completion_estimate: int = 0,
        first_token_at: float | None = None,
    ) -> UsageEvent:
        estimated = False
        prompt = completion = 0
        if usage is not None:
            prompt = _int(usage.get("prompt_tokens"))
            completion = _int(usage.get("completion_tokens"))
        elif status != "error" or completion_estimate:
            prompt = tokens.count_prompt(self.payload)
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
        )
        sink.emit(event)
        return event


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def completion_text_tokens(response: dict[str, Any]) -> int:
    """Estimated completion tokens of a non-streamed response that reported no usage."""
    total = 0
    choices = response.get("choices")
    if isinstance(choices, list):
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            message = choice.get("message")
            text = message.get("content") if isinstance(message, dict) else choice.get("text")
            if isinstance(text, str):
                total += tokens.count_text(text)
    return total
