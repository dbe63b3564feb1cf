"""The gateway's authenticator on hand-made snapshots: rotation grace, disabled owners, the cache."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from headwater.errors import Unauthorized
from headwater.gateway import auth as auth_module
from headwater.gateway.admission import Admission
from headwater.gateway.auth import Authenticator
from headwater.identity.trusted import TrustedHeaders
from headwater.keys.secret import new_key
from headwater.limits.memory import MemoryLimiter
from headwater.policies.schemas import PolicySpec
from headwater.snapshot import KeyView, ModelView, PolicyView, Pricing, Snapshot

NOW = 1_800_000_000.0


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [NOW]
    monkeypatch.setattr(auth_module, "epoch", lambda: now[0])
    return now


def view(key_hash: str, **fields: Any) -> KeyView:
    values: dict[str, Any] = {
        "id": "abcdefghijkl",
        "hash": key_hash,
        "name": "k",
        "owner": "user:alice",
        "models": None,
        "status": "active",
        "expires_at": None,
        **fields,
    }
    return KeyView(**values)


def snapshot(*views: KeyView, revision: int = 1, **fields: Any) -> Snapshot:
    return Snapshot(revision=revision, keys=MappingProxyType({v.id: v for v in views}), **fields)


async def call(auth: Authenticator, key: str, snap: Snapshot, scope: dict[str, Any] | None = None) -> KeyView:
    header = f"Bearer {key}".encode()
    return auth.cached(header, snap) or await auth.authenticate(header, snap, scope or {"headers": []})


async def refused(auth: Authenticator, key: str, snap: Snapshot) -> str:
    with pytest.raises(Unauthorized) as error:
        await call(auth, key, snap)
    assert error.value.code is not None
    return error.value.code


async def test_the_previous_secret_works_until_its_grace_ends(clock: list[float]) -> None:
    old, new = new_key("abcdefghijkl"), new_key("abcdefghijkl")
    snap = snapshot(view(new.hash, previous_hash=old.hash, previous_until=NOW + 60))
    auth = Authenticator()
    assert (await call(auth, new.key, snap)).id == "abcdefghijkl"
    assert (await call(auth, old.key, snap)).id == "abcdefghijkl"
    clock[0] = NOW + 61  # no new snapshot: the cached entry must lapse on its own
    assert await refused(auth, old.key, snap) == "key_rotated"
    assert (await call(auth, new.key, snap)).id == "abcdefghijkl"
    assert await refused(auth, new_key("abcdefghijkl").key, snap) == "invalid_api_key"


async def test_keys_of_disabled_owners_are_refused() -> None:
    user_key, robot_key = new_key("abcdefghijkl"), new_key("mnopqrstuvwx")
    robot = view(robot_key.hash, id="mnopqrstuvwx", owner="serviceaccount:robot")
    auth = Authenticator()
    active = snapshot(view(user_key.hash), robot)
    assert (await call(auth, user_key.key, active)).owner == "user:alice"
    assert (await call(auth, robot_key.key, active)).owner == "serviceaccount:robot"
    disabled = snapshot(
        view(user_key.hash), robot, revision=2, disabled=frozenset({"user:alice", "serviceaccount:robot"})
    )
    assert await refused(auth, user_key.key, disabled) == "user_disabled"
    assert await refused(auth, robot_key.key, disabled) == "service_account_disabled"


async def test_a_cached_key_is_checked_again_against_a_new_snapshot() -> None:
    key = new_key("abcdefghijkl")
    auth = Authenticator()
    assert (await call(auth, key.key, snapshot(view(key.hash)))).status == "active"
    assert (
        await refused(auth, key.key, snapshot(view(key.hash, status="revoked"), revision=2)) == "key_revoked"
    )


async def test_an_expired_key_is_refused_and_a_cached_key_lapses_when_it_expires(clock: list[float]) -> None:
    expired, expiring = new_key("abcdefghijkl"), new_key("mnopqrstuvwx")
    snap = snapshot(
        view(expired.hash, expires_at=NOW - 1),
        view(expiring.hash, id="mnopqrstuvwx", expires_at=NOW + 60),
    )
    auth = Authenticator()
    assert await refused(auth, expired.key, snap) == "key_expired"
    assert (await call(auth, expiring.key, snap)).id == "mnopqrstuvwx"
    header = f"Bearer {expiring.key}".encode()
    clock[0] = NOW + 59
    assert auth.cached(header, snap) is not None  # verified once, served from the cache
    clock[0] = NOW + 60  # the same snapshot: the cached entry must lapse on its own
    assert auth.cached(header, snap) is None
    assert await refused(auth, expiring.key, snap) == "key_expired"


def forwarded(user: str, groups: str, client: str = "127.0.0.1") -> dict[str, Any]:
    headers = [(b"x-forwarded-user", user.encode()), (b"x-forwarded-groups", groups.encode())]
    return {"headers": headers, "client": (client, 50000)}


async def test_forwarded_users_from_trusted_proxies_only() -> None:
    trusted = TrustedHeaders(["X-Forwarded-User", "X-Forwarded-Groups"], ["127.0.0.1/32"])
    auth = Authenticator(trusted=trusted)
    snap = snapshot(
        memberships=MappingProxyType({"user:erin": ("beta", "engineering")}),
        external_groups=frozenset({"engineering"}),
    )
    erin = await auth.authenticate(None, snap, forwarded("erin", "research, /ops"))
    assert erin.owner == "user:erin" and erin.id == "header"
    assert erin.groups == ("beta", "ops", "research")  # asserted groups + local ones, not stale IdP ones
    with pytest.raises(Unauthorized) as error:
        await auth.authenticate(None, snap, forwarded("erin", "research", client="192.0.2.7"))
    assert error.value.code == "missing_api_key"


def test_plans_of_keyless_callers_are_cached_per_user_and_groups() -> None:
    spec = PolicySpec.model_validate(
        {"assets": {"models": ["secret"]}, "targets": {"groups": ["engineering"]}}
    )
    policy = PolicyView(
        "eng", spec, frozenset({"secret"}), frozenset({"engineering"}), frozenset(), frozenset()
    )
    model = ModelView("secret", "chat", "restricted", "active", Pricing(Decimal(0), Decimal(0), "USD"), (), 0)
    snap = Snapshot(revision=1, models=MappingProxyType({"secret": model}), policies=(policy,))
    admission = Admission(MemoryLimiter(), default_max_tokens=16, events=lambda event: None)

    def caller(name: str, groups: tuple[str, ...]) -> KeyView:
        return KeyView("oidc", "", "token", f"user:{name}", None, "active", None, groups=groups)

    assert admission.plan(snap, caller("alice", ("engineering",)), model).allowed
    assert not admission.plan(snap, caller("bob", ("research",)), model).allowed
    assert not admission.plan(snap, caller("alice", ()), model).allowed  # left the group
