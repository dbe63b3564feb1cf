"""Relaying a server-sent event stream.

Each read from the upstream is split into complete events (``\\n\\n``-terminated) which go to the
client at once; only a partial event waits for its end. Chunks are never parsed, except the one
that carries a ``usage`` object. The gateway always asks the upstream for that chunk
(``stream_options.include_usage``) and hides it from a client that did not ask for it.

Splitting is linear: a read is split where its own separators are (``bytes.split``, in C), the
event in progress is completed by searching from its last byte on, ``\\r\\n`` is normalised in the
new bytes alone (a ``\\r`` that ends a read waits for the next one), and the partial event is the
only thing kept. That partial event may not grow
past ``max_event_bytes`` (``HEADWATER_MAX_STREAM_EVENT_BYTES``): a larger event (or a stream without
separators) ends the relay with :data:`EVENT_TOO_LARGE`, and memory never holds more than that bound
plus one read.

:func:`relay` only forwards; how the client's body ends is the proxy's decision: a clean end, or a
terminal error event (:func:`terminal_event`, OpenAI's error object in a ``data:`` line) when the
stream was cut, whatever cut it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from headwater.clock import monotonic
from headwater.errors import error_body
from headwater.gateway.asgi import Send
from headwater.gateway.upstream import BROKEN, UpstreamResponse
from headwater.gateway.wire.base import UsageSniffer

DONE = b"data: [DONE]"
_DATA = b"data:"


@dataclass(frozen=True, slots=True)
class Cut:
    """Why a stream ended early: the terminal event's message and code, the usage event's status."""

    message: str
    code: str
    http_status: int = 502


EVENT_TOO_LARGE = "upstream_event_too_large"
#: A stream that ended without its end marker and without usage.
INCOMPLETE = Cut("The upstream ended the stream before it was complete.", "bad_upstream_response")


def broken(exc: BaseException) -> Cut:
    """Why a stream whose reading raised ``exc`` (a read timeout, a broken connection) was cut."""
    if isinstance(exc, TimeoutError):
        return Cut("The upstream stopped sending before the stream ended (timeout).", "upstream_timeout", 504)
    return Cut(f"The upstream stream broke: {type(exc).__name__}.", "bad_upstream_response")


@dataclass(slots=True)
class StreamState:
    first_token_at: float | None = None
    events: int = 0
    usage: dict[str, Any] | None = None
    done: bool = False
    failure: Cut | None = None


class EventSplitter:
    """Cuts a byte stream into complete events, in time linear in its length."""

    __slots__ = ("_cr", "_max", "_partial", "too_large")

    def __init__(self, max_event_bytes: int) -> None:
        self._max = max_event_bytes
        self._partial = bytearray()
        self._cr = False
        #: Set once an event (or the unfinished rest) exceeded the maximum; nothing more is split.
        self.too_large = False

    def feed(self, data: bytes) -> list[bytes]:
        """The events completed by ``data`` (each ending ``\\n\\n``), in order."""
        if self.too_large:
            return []
        if self._cr:
            data = b"\r" + data
            self._cr = False
        if data.endswith(b"\r"):
            data = data[:-1]
            self._cr = True
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        events: list[bytes] = []
        partial = self._partial
        if partial:
            # The event in progress ends at the first separator, which may straddle the old and the
            # new bytes: search from the old part's last byte, and copy the old part only once, when
            # its event completes (so a long event costs its length, never its length squared).
            end = (partial[-1:] + data).find(b"\n\n")
            if end < 0:
                if len(partial) + len(data) > self._max:
                    self.too_large = True
                else:
                    partial += data
                return events
            event = bytes(partial) + data[: end + 1]
            partial.clear()
            data = data[end + 1 :]
            if len(event) > self._max:
                self.too_large = True
                return events
            if len(event) > 2:
                events.append(event)
        parts = data.split(b"\n\n")  # in C: one pass over the new bytes
        rest = parts.pop()
        if parts and max(map(len, parts)) > self._max - 2:
            for index, part in enumerate(parts):
                if len(part) > self._max - 2:
                    del parts[index:]
                    self.too_large = True
                    break
        events += [part + b"\n\n" for part in parts if part]
        if self.too_large:
            return events
        if len(rest) > self._max:
            self.too_large = True
        elif rest:
            partial += rest
        return events

    def block(self, data: bytes) -> bytes:
        """The events completed by ``data`` as one run of bytes (each event ending ``\\n\\n``; an
        empty event may stay in it), the same bytes :meth:`feed` gives as a list. A read with no
        event in progress, no ``\\r`` and no more than the bound (the usual case) is cut at its last
        separator and nothing else is copied; any other read goes through :meth:`feed`."""
        if self._partial or self._cr or self.too_large or len(data) > self._max or b"\r" in data:
            return b"".join(self.feed(data))
        end = data.rfind(b"\n\n")
        if end < 0:
            if data:
                self._partial += data
            return b""
        if end + 2 < len(data):
            self._partial += data[end + 2 :]
            return data[: end + 2]
        return data


def _usage_of(event: bytes) -> tuple[dict[str, Any] | None, bool]:
    """The usage object in an event, and whether the event carries nothing else (no choices)."""
    for line in event.split(b"\n"):
        if line.startswith(_DATA):
            try:
                data = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                return None, False
            if isinstance(data, dict) and isinstance(data.get("usage"), dict):
                return data["usage"], not data.get("choices")
    return None, False


async def relay(
    response: UpstreamResponse,
    send: Send,
    state: StreamState,
    *,
    hide_usage: bool,
    rename: tuple[tuple[bytes, bytes], ...],
    max_event_bytes: int,
    sniffer: UsageSniffer | None = None,
    public_model: str | None = None,
) -> None:
    """Forward the upstream's events to the client until ``[DONE]`` or the end of the body.

    A stream of another API than OpenAI's chat completions (passed through untranslated) has its
    usage and its end found by ``sniffer``. With ``public_model``, the name to hide is the one the
    upstream's first event reports (Azure answers with the model behind its deployment's name).
    Sets ``state.failure`` when the stream was cut; never ends the client's body."""
    splitter = EventSplitter(max_event_bytes)
    learn = public_model is not None
    try:
        async for data in response.content.iter_any():
            if sniffer is None and not (learn and (_NAMELESS[0] in data or _NAMELESS[1] in data)):
                # OpenAI's chat completion chunks: a read's complete events handled as one block
                body, learn, rename = _chat_block(
                    splitter.block(data), state, hide_usage, rename, learn, public_model
                )
            else:
                body, learn, rename = _each_event(
                    splitter.feed(data), state, hide_usage, rename, learn, public_model, sniffer
                )
            if body:
                if state.first_token_at is None:
                    state.first_token_at = monotonic()
                await send({"type": "http.response.body", "body": body, "more_body": True})
            if splitter.too_large:
                state.failure = Cut(
                    f"The upstream sent an event larger than {max_event_bytes} bytes; the stream was cut.",
                    EVENT_TOO_LARGE,
                )
                return
    except (TimeoutError, *BROKEN) as exc:
        state.failure = broken(exc)
        return
    finally:
        if sniffer is not None:
            state.usage, state.done = sniffer.usage, sniffer.done
    if not state.done and state.usage is None:
        state.failure = INCOMPLETE


Renames = tuple[tuple[bytes, bytes], ...]
_USAGE = (b'"usage":{', b'"usage": {')
_DONE_EVENT = b"\n\n" + DONE
#: Azure's first chunk names no model (its content filter results): read event by event.
_NAMELESS = (b'"model":""', b'"model": ""')
_DATA_EVENT = b"\n\n" + _DATA


def _chat_block(
    block: bytes, state: StreamState, hide_usage: bool, rename: Renames, learn: bool, public_model: str | None
) -> tuple[bytes, bool, Renames]:
    """A run of complete chat completion events, checked and renamed as one: the same result as
    :func:`_each_event` on its events, with a few scans of the block instead of a dozen per event
    (issue 16: a third of the relay's cost). The events that carry usage are read on their own."""
    if not block:
        return block, learn, rename
    if learn and public_model is not None and b'"model"' in block:
        reported = reported_model(block)
        if reported:
            learn = False
            rename = rename_pairs(reported, public_model)
        elif reported is not None:  # a nameless first chunk that the read's check missed (split)
            split = [event + b"\n\n" for event in block.split(b"\n\n") if event]
            return _each_event(split, state, hide_usage, rename, learn, public_model, None)
    events = block.count(_DATA_EVENT) + block.startswith(_DATA)
    if block.startswith(DONE) or _DONE_EVENT in block:
        state.done = True
        events -= 1
    if _USAGE[0] in block or _USAGE[1] in block:
        block, events = _read_usage(block, state, hide_usage, events)
    state.events += events
    for old, new in rename:
        block = block.replace(old, new)
    return block, learn, rename


def _read_usage(block: bytes, state: StreamState, hide_usage: bool, events: int) -> tuple[bytes, int]:
    """The events of ``block`` that carry usage, in stream order: the last usage seen wins, and a
    usage-only event is cut out for a client that did not ask for it. The block is copied once,
    however many such events a hostile upstream packs into it."""
    found = sorted({at for marker in _USAGE for at in _positions(block, marker)})
    kept: list[bytes] = []
    done = 0  # the end of the last event read
    for at in found:
        if at < done:
            continue  # in an event already read
        start = block.rfind(b"\n\n", 0, at)
        start = 0 if start < 0 else start + 2
        stop = block.find(b"\n\n", at) + 2
        usage, usage_only = _usage_of(block[start:stop])
        events -= 1
        if usage is not None:
            state.usage = usage
            if usage_only and hide_usage:
                kept.append(block[done:start])
                done = stop
                continue
        kept.append(block[done:stop])
        done = stop
    kept.append(block[done:])
    return b"".join(kept), events


def _positions(data: bytes, marker: bytes) -> list[int]:
    found: list[int] = []
    at = data.find(marker)
    while at >= 0:
        found.append(at)
        at = data.find(marker, at + len(marker))
    return found


def _each_event(
    events: list[bytes],
    state: StreamState,
    hide_usage: bool,
    rename: Renames,
    learn: bool,
    public_model: str | None,
    sniffer: UsageSniffer | None,
) -> tuple[bytes, bool, Renames]:
    """Events one at a time: another API's stream (its ``sniffer`` reads every event), or Azure's
    first chunk, which names no model."""
    out: list[bytes] = []
    for event in events:
        if sniffer is not None:
            sniffer.event(event)
            state.events += 1
        elif event.startswith(DONE):
            state.done = True
        elif b'"usage":{' in event or b'"usage": {' in event:
            usage, usage_only = _usage_of(event)
            if usage is not None:
                state.usage = usage
                if usage_only and hide_usage:
                    continue
        elif event.startswith(_DATA):
            state.events += 1
        if learn and public_model is not None and b'"model"' in event:
            reported = reported_model(event)
            if reported:
                learn = False
                rename = rename_pairs(reported, public_model)
            elif reported is not None:  # Azure's first chunk (content filter results) names none
                for old, new in rename_pairs("", public_model):
                    event = event.replace(old, new)
        for old, new in rename:
            event = event.replace(old, new)
        out.append(event)
    return b"".join(out), learn, rename


def terminal_event(cut: Cut) -> bytes:
    """The last event of a cut stream: OpenAI's error object, which the SDKs raise."""
    return b"data: " + error_body(cut.message, "api_error", cut.code) + b"\n\n"


_MODEL = re.compile(rb'"model": ?"((?:[^"\\]|\\.){0,512})"')


def reported_model(data: bytes) -> str | None:
    """The first ``"model"`` string in ``data`` (an event, a body), as the upstream wrote it."""
    found = _MODEL.search(data)
    if found is None:
        return None
    try:
        value = orjson.loads(b'"' + found.group(1) + b'"')
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, str) else None


def rename_pairs(upstream_model: str, public_model: str) -> tuple[tuple[bytes, bytes], ...]:
    """Byte replacements that show the public model name instead of the upstream's."""
    if upstream_model == public_model:
        return ()
    old, new = orjson.dumps(upstream_model), orjson.dumps(public_model)
    return ((b'"model":' + old, b'"model":' + new), (b'"model": ' + old, b'"model": ' + new))
