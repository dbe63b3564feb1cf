"""Opening stored credentials for the gateway's snapshot, without ever failing the snapshot.

A value this server cannot open (sealed under another key, altered, or no key configured) is logged
once per version of it, by name and never by value, and left out: the deployments that name it are
served without a credential, so their calls fail upstream (502 ``upstream_auth_failed``) while
everything else is served as usual.

A value resealed by ``headwater secrets rotate-key`` keeps its ``updated_at`` (the value did not
change), so a process still on the old key keeps serving the value it opened before, until it is
restarted with the new key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from headwater.catalog.secret_box import KEY_ENV, CannotOpen, SecretBox, WrongKey
from headwater.storage.sql.credentials import CredentialRow

log = logging.getLogger("headwater.snapshot")


class Opener:
    def __init__(self, box: SecretBox | None) -> None:
        self._box = box
        self._opened: dict[str, tuple[datetime, str]] = {}  # name → (updated_at, value)
        self._reported: set[tuple[str, datetime]] = set()

    def open_all(self, rows: Iterable[CredentialRow]) -> dict[str, str]:
        """Name → value of the ``rows`` that open (or were opened before a rotation)."""
        values: dict[str, str] = {}
        for row in rows:
            try:
                if self._box is None:
                    raise CannotOpen(f"no secret key is configured ({KEY_ENV}) to open {row.name}")
                values[row.name] = self._box.open(row.name, row.sealed)
                self._opened[row.name] = (row.updated_at, values[row.name])
            except CannotOpen as exc:
                known = self._opened.get(row.name)
                if isinstance(exc, WrongKey) and known is not None and known[0] == row.updated_at:
                    values[row.name] = known[1]
                    reason = f"{exc}; serving the value opened before (restart with the new key)"
                else:
                    reason = f"{exc}; its deployments have no credential"
                if (row.name, row.updated_at) not in self._reported:
                    self._reported.add((row.name, row.updated_at))
                    log.error("stored credential %s cannot be opened: %s", row.name, reason)
        return values
