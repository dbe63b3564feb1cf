"""Audit schemas of the admin API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, PlainSerializer, WithJsonSchema

from headwater.audit.chain import format_ts

#: Always ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: exactly the form that is hashed.
AuditTime = Annotated[
    datetime,
    PlainSerializer(format_ts, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class AuditEventRead(BaseModel):
    seq: int
    ts: AuditTime
    actor: str
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str
    source_ip: str | None
    outcome: Literal["success", "denied", "failure"]
    detail: str | None
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEventRead]
    next: str | None


class AuditHead(BaseModel):
    """The chain's newest event: its seq (0 when empty) and hash."""

    seq: int
    hash: str


class AuditVerifyRead(BaseModel):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None
    head_seq: int
    head_hash: str
