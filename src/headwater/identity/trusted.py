"""Trusted-header identity: a gateway in front authenticates users and forwards who they are.

The headers are believed only from the configured source networks; from anywhere else they are
ignored, as if absent.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from headwater.identity.principal import group_names

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ForwardedIdentity:
    user: str
    #: None when no groups header is configured: the directory's groups then apply.
    groups: tuple[str, ...] | None


class TrustedHeaders:
    def __init__(self, headers: Sequence[str], proxies: Iterable[str]) -> None:
        self.headers = tuple(headers)
        self._user = headers[0].lower().encode("latin-1") if headers else b""
        self._groups = headers[1].lower().encode("latin-1") if len(headers) > 1 else b""
        self._networks: tuple[Network, ...] = tuple(ipaddress.ip_network(c, strict=False) for c in proxies)

    @property
    def enabled(self) -> bool:
        return bool(self._user) and bool(self._networks)

    def trusts(self, source_ip: str | None) -> bool:
        if not source_ip or not self._networks:
            return False
        try:
            address = ipaddress.ip_address(source_ip)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def identify(
        self, headers: Iterable[tuple[bytes, bytes]], source_ip: str | None
    ) -> ForwardedIdentity | None:
        """The forwarded identity, when the call comes from a trusted proxy and names a user."""
        if not self.enabled or not self.trusts(source_ip):
            return None
        user = groups = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == self._user:
                user = value.decode("latin-1").strip()
            elif self._groups and lowered == self._groups:
                groups = value.decode("latin-1")
        if not user:
            return None
        if not self._groups:
            return ForwardedIdentity(user=user, groups=None)
        return ForwardedIdentity(user=user, groups=group_names((groups or "").split(",")))
