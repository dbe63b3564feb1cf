"""A check's result, and the redaction every result goes through before it is shown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

Status = Literal["ok", "warning", "error"]
_RANK: dict[Status, int] = {"ok": 0, "warning": 1, "error": 2}
REDACTED = "[redacted]"
#: Secrets shorter than this are not cut out of text (they would cut ordinary words).
_MIN_SECRET_CHARS = 4


@dataclass(frozen=True, slots=True)
class Check:
    """One row of the report: ``fix`` is empty when there is nothing to do."""

    check: str
    status: Status
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "detail": self.detail, "fix": self.fix}


def ok(check: str, detail: str) -> Check:
    return Check(check, "ok", detail)


def warning(check: str, detail: str, fix: str) -> Check:
    return Check(check, "warning", detail, fix)


def error(check: str, detail: str, fix: str) -> Check:
    return Check(check, "error", detail, fix)


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=_RANK.__getitem__, default="ok")


def failed(checks: Iterable[Check]) -> bool:
    """Whether any check is an error (``headwater doctor`` then exits 1)."""
    return any(check.status == "error" for check in checks)


def redact_url(url: str) -> str:
    """``url`` with the password of its user info replaced; anything unparsable is hidden whole."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return REDACTED
    if not password:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{name}:{REDACTED}@{host}"))


def url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def scrub(checks: Iterable[Check], secrets: Iterable[str | None]) -> list[Check]:
    """The checks with every one of ``secrets`` cut out of their texts (the last guard: a check
    should never have put one there)."""
    known = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_CHARS}, key=len, reverse=True)

    def clean(text: str) -> str:
        for secret in known:
            text = text.replace(secret, REDACTED)
        return text

    return [replace(c, check=clean(c.check), detail=clean(c.detail), fix=clean(c.fix)) for c in checks]
