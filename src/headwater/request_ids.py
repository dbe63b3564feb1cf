"""Request ids a client may choose, for the gateway and the admin API alike.

A client's ``X-Request-Id`` is echoed, logged, stored with usage and audit events and exported to
CSV, so only a sane one is kept: 1-128 letters, digits and ``._:-``, starting with a letter or digit
(never a spreadsheet formula such as ``=cmd|...``, a newline or a space). Anything else is replaced
by an id of the server's own.
"""

from __future__ import annotations

import re

PATTERN = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def sane(given: bytes | None) -> str | None:
    """The client's request id when it may be kept, else None."""
    return given.decode("ascii") if given and PATTERN.fullmatch(given) else None
