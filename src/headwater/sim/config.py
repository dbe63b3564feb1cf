"""Settings of the simulated model server."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SimConfig:
    """How the simulator behaves.

    ``ttft_ms`` is the delay before the first token, ``tokens_per_second`` the pace after it (``0``
    disables the pacing), ``error_rate`` the probability (0..1) that a model request fails with a 500,
    ``seed`` makes every reply, vector and injected failure reproducible, ``embedding_dimensions``
    is the vector length when a request does not ask for ``dimensions``, and ``max_model_len`` the
    context length (prompt plus reply, per choice), as vLLM's ``--max-model-len``.
    """

    ttft_ms: float = 150.0
    tokens_per_second: float = 80.0
    error_rate: float = 0.0
    seed: int = 0
    embedding_dimensions: int = 256
    max_model_len: int = 4096

    def __post_init__(self) -> None:
        if self.ttft_ms < 0:
            raise ValueError("ttft_ms must be >= 0")
        if self.tokens_per_second < 0:
            raise ValueError("tokens_per_second must be >= 0")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if self.embedding_dimensions < 1:
            raise ValueError("embedding_dimensions must be >= 1")
        if self.max_model_len < 1:
            raise ValueError("max_model_len must be >= 1")

    @property
    def ttft_s(self) -> float:
        """Delay before the first token, in seconds."""
        return self.ttft_ms / 1000.0

    @property
    def token_interval_s(self) -> float:
        """Delay between two tokens, in seconds (``0.0`` when pacing is disabled)."""
        return 1.0 / self.tokens_per_second if self.tokens_per_second > 0 else 0.0
