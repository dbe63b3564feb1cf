"""The hash chain, pure: stable hashes, and verify finds each kind of tampering."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from headwater.audit.chain import GENESIS, canonical, event_hash, format_ts, json_value, verify


def chain(count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    prev = GENESIS
    start = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    for seq in range(1, count + 1):
        event: dict[str, Any] = {
            "seq": seq,
            "ts": start + timedelta(seconds=seq, microseconds=seq * 1001),
            "actor": "user:alice",
            "action": "key.create",
            "target_type": "key",
            "target_id": f"k{seq}",
            "before": None if seq % 2 else {"name": "old", "n": seq},
            "after": {"name": "ci", "models": ["m1", "m2"], "ratio": 0.1, "é": "ü"},
            "request_id": f"req-{seq}",
            "source_ip": "10.0.0.1",
            "outcome": "success",
            "detail": None,
            "prev_hash": prev,
        }
        event["hash"] = prev = event_hash(event, prev)
        events.append(event)
    return events


def as_api(event: dict[str, Any]) -> dict[str, Any]:
    """What a JSON API hands back: ts as text, everything through a JSON round trip."""
    return dict(json.loads(json.dumps({**event, "ts": event["ts"].isoformat().replace("+00:00", "Z")})))


def test_canonical_form_is_exact_and_stable() -> None:
    event = {
        "seq": 1,
        "ts": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "actor": "system",
        "action": "key.revoke",
        "target_type": "key",
        "target_id": "abc",
        "before": {"b": 1, "a": "é"},
        "after": None,
        "request_id": "r",
        "source_ip": None,
        "outcome": "success",
        "detail": None,
    }
    expected = (
        '{"action":"key.revoke","actor":"system","after":null,"before":{"a":"\\u00e9","b":1},'
        '"detail":null,"outcome":"success","prev_hash":"' + GENESIS + '","request_id":"r",'
        '"seq":1,"source_ip":null,"target_id":"abc","target_type":"key",'
        '"ts":"2026-01-02T03:04:05.000000Z"}'
    ).encode()
    assert canonical(event, GENESIS) == expected
    assert event_hash(event, GENESIS) == hashlib.sha256(expected).hexdigest()
    # extra keys (hash, ids the API may add) are not hashed; prev_hash comes from the argument
    assert event_hash({**event, "hash": "x", "prev_hash": "y", "extra": 1}, GENESIS) == event_hash(
        event, GENESIS
    )


def test_timestamps_hash_the_same_in_every_form() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)
    forms: list[datetime | str] = [
        when,
        when.astimezone(timezone_plus_two()),
        when.replace(tzinfo=None),  # naive means UTC (SQLite text)
        "2026-01-02T03:04:05.12Z",
        "2026-01-02T03:04:05.120000+00:00",
        "2026-01-02 03:04:05.120000",
        "2026-01-02T05:04:05.120000+02:00",
    ]
    assert {format_ts(form) for form in forms} == {"2026-01-02T03:04:05.120000Z"}
    assert format_ts(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00.000000Z"


def timezone_plus_two() -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=2))


def test_json_values() -> None:
    assert json_value({"a": Decimal("0.000001"), 1: (1, 2), "t": datetime(2026, 1, 1, tzinfo=UTC)}) == {
        "a": "0.000001",
        "1": [1, 2],
        "t": "2026-01-01T00:00:00.000000Z",
    }


def test_an_intact_chain_verifies_from_rows_and_from_api_dicts() -> None:
    events = chain(20)
    result = verify(events)
    assert result.ok and result.checked == 20 and result.first_broken_seq is None and result.reason is None
    assert result.last_hash == events[-1]["hash"]
    assert verify([as_api(e) for e in events]).ok
    assert verify(iter(events), head=(20, events[-1]["hash"])).ok
    empty = verify([], head=(0, GENESIS))
    assert empty.ok and empty.checked == 0


def test_a_changed_field_is_found() -> None:
    for field, value in [("after", {"name": "evil"}), ("actor", "user:mallory"), ("outcome", "denied")]:
        events = chain(10)
        events[6][field] = value
        result = verify(events)
        assert not result.ok and result.first_broken_seq == 7 and result.checked == 6
        assert result.reason is not None and "changed" in result.reason
    events = chain(10)
    events[3]["ts"] = events[3]["ts"] + timedelta(microseconds=1)
    assert verify(events).first_broken_seq == 4


def test_a_rewritten_prev_hash_is_found() -> None:
    events = chain(10)
    events[4]["prev_hash"] = "f" * 64
    events[4]["hash"] = event_hash(events[4], events[4]["prev_hash"])  # consistent with itself
    result = verify(events)
    assert result.first_broken_seq == 5 and result.reason == "prev_hash is not the hash of event 4"
    events = chain(3)
    events[0]["prev_hash"] = "1" * 64
    assert verify(events).reason == "prev_hash is not the genesis hash"


def test_a_recomputed_row_breaks_the_next_link() -> None:
    events = chain(10)
    events[4]["after"] = {"name": "evil"}
    events[4]["hash"] = event_hash(events[4], events[4]["prev_hash"])
    result = verify(events)
    assert result.first_broken_seq == 6 and result.checked == 5


def test_a_deleted_row_is_a_gap() -> None:
    events = chain(10)
    del events[3]
    result = verify(events)
    assert result.first_broken_seq == 4 and result.reason == "event 4 is missing (the next event is 5)"
    events = chain(10)
    del events[0:3]
    assert verify(events).reason == "events 1-3 are missing (the next event is 4)"


def test_deleted_newest_rows_are_found_with_the_head() -> None:
    events = chain(10)
    assert verify(events[:8]).ok  # the chain alone cannot tell
    result = verify(events[:8], head=(10, events[-1]["hash"]))
    assert (
        result.first_broken_seq == 9
        and result.reason == "events 9-10 are missing (the chain's head is at 10)"
    )
    assert verify(events, head=(10, "0" * 64)).first_broken_seq == 10


def test_reordered_rows_are_found() -> None:
    events = chain(10)
    events[3], events[4] = events[4], events[3]
    assert verify(events).first_broken_seq == 4
    events = chain(10)
    events.append(copy.deepcopy(events[2]))  # a replayed event
    result = verify(events)
    assert result.first_broken_seq == 11 and "repeated" in (result.reason or "")
    events = chain(10)  # renumbered rows: swap the seqs of two neighbours
    events[3]["seq"], events[4]["seq"] = 5, 4
    events[3], events[4] = events[4], events[3]
    assert verify(events).first_broken_seq == 4


def test_malformed_events_are_reported_not_raised() -> None:
    events = chain(3)
    events[1]["ts"] = "not a time"
    result = verify(events)
    assert result.first_broken_seq == 2 and (result.reason or "").startswith("malformed")
    assert verify([{"hash": "x"}]).first_broken_seq == 1


def test_the_cli_path_imports_no_server_stack() -> None:
    code = (
        "import sys, headwater.audit.chain, headwater.cli.audit; "
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'starlette') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
