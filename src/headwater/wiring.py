"""The composition root's builders for the limiter, the OIDC verifiers and the key rules.

Only :mod:`headwater.main` imports this module (an import contract says so): it turns settings into
those parts, and main wires them with everything else (the web layer's parts stay in main).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from headwater.identity.jwt_verifier import JwtVerifier
from headwater.keys.selfservice import KeyRules
from headwater.limits.base import Limiter
from headwater.limits.failover import FailoverLimiter
from headwater.limits.memory import MemoryLimiter
from headwater.limits.redis import RedisLimiter
from headwater.names import parse_duration
from headwater.settings import Settings


def build_limiter(settings: Settings) -> Limiter:
    """Memory for one process; Redis (with the configured failure mode) for workers and replicas."""
    if not settings.redis_url:
        return MemoryLimiter()
    redis = RedisLimiter.from_url(
        settings.redis_url,
        prefix=settings.redis_prefix,
        catch_up_after_s=2 * settings.usage_flush_interval_s,  # late usage events are stored by then
    )
    return FailoverLimiter(redis, MemoryLimiter(), mode=settings.limits_fail)


@dataclass(frozen=True)
class Verifiers:
    """OIDC token verifiers: access tokens (gateway and admin API) and ID tokens (browser sign-in)."""

    access: JwtVerifier | None
    id_tokens: JwtVerifier | None

    async def start(self) -> None:
        for verifier in (self.access, self.id_tokens):
            if verifier is not None:
                await verifier.start()

    async def close(self) -> None:
        for verifier in (self.access, self.id_tokens):
            if verifier is not None:
                await verifier.close()


def build_verifiers(settings: Settings) -> Verifiers:
    if not settings.oidc_issuer:
        return Verifiers(None, None)
    claim = settings.oidc_groups_claim
    access = JwtVerifier(settings.oidc_issuer, settings.audience, groups_claim=claim)
    id_tokens = None
    if settings.oidc_client_id:
        id_tokens = JwtVerifier(settings.oidc_issuer, settings.oidc_client_id, groups_claim=claim)
    return Verifiers(access, id_tokens)


def key_rules(settings: Settings) -> KeyRules:
    def duration(value: str) -> timedelta | None:
        return parse_duration(value) if value else None

    return KeyRules(
        default_expiry=duration(settings.keys_default_expiry),
        max_expiry=duration(settings.keys_max_expiry),
        max_active_per_user=settings.keys_max_active_per_user,
        max_requests_per_minute=settings.keys_max_requests_per_minute,
        max_tokens_per_minute=settings.keys_max_tokens_per_minute,
        max_budget=settings.keys_max_budget,
        max_budget_currency=settings.keys_max_budget_currency,
        max_rotation_grace=duration(settings.keys_max_rotation_grace),
    )
