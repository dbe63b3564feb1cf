"""Small ASGI helpers: headers, bodies, responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from headwater.errors import GatewayError, PayloadTooLarge, RequestTimeout
from headwater.serving.body import BodyTimeout, BodyTimer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON = b"application/json"
EVENT_STREAM = b"text/event-stream"


async def read_body(
    receive: Receive, limit: int, declared: int | None, timer: BodyTimer | None = None
) -> bytes:
    """The whole request body; 413 as soon as it is known to exceed ``limit``; 408 (and the
    connection closed) when a part of it takes longer than ``timer`` allows to come."""
    if declared is not None and declared > limit:
        raise PayloadTooLarge(
            f"Request body of {declared} bytes exceeds the limit of {limit} bytes.", code="request_too_large"
        )
    if timer is None:
        return await _read(receive, limit)
    try:
        return await _read(timer.bounded(receive), limit)
    except BodyTimeout as exc:
        raise RequestTimeout(str(exc), code="request_timeout", headers=((b"connection", b"close"),)) from None


async def _read(receive: Receive, limit: int) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise _too_large(limit)
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.", code="request_too_large")


async def send_bytes(
    send: Send, status: int, body: bytes, headers: Headers, content_type: bytes = JSON
) -> None:
    headers.append((b"content-type", content_type))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, error: GatewayError, headers: Headers) -> None:
    headers.extend(error.headers)
    await send_bytes(send, error.status, error.body(), headers)


async def wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
