"""The limiter's script calls on a connection of their own: packed and parsed by hiredis, pipelined.

redis-py spends most of a script call's CPU around the wire (a pooled-connection checkout, a
pipeline object, a timeout context per read, the connection's bookkeeping): on the bench's 2-vCPU VM
a lone call cost this process ~200 µs of CPU against ~75 µs for the same round trip through a bare
asyncio protocol, and ~35 µs a call in a pipeline of 32 against ~6 (``bench/limiter_micro.py``).
:class:`RespPipe` is that bare path for the calls on every request (reserve and settle, through
:class:`~headwater.limits.batching.ScriptBatcher`): one TCP or Unix connection, commands packed by
``hiredis.pack_command``, replies parsed by ``hiredis.Reader``, answered in the order sent (Redis
answers a connection's commands in order). Everything else (loading scripts, recovery, seeding)
stays on redis-py.

The connection is made from the client's own settings (host and port or Unix path, database,
username and password, its timeouts): :meth:`RespPipe.of` answers None, and the batcher keeps to
redis-py, for anything else those settings ask for (TLS, RESP3, a credential provider, a client
name, decoded replies).

Failures are redis-py's exceptions, so the limiter treats them as before: a connection that cannot
be made or is lost is a ``ConnectionError``; no answer within the client's ``socket_timeout`` is a
``TimeoutError``, and the connection is dropped (a late answer would otherwise be taken for the next
call's); an error reply is the ``ResponseError`` subclass redis-py would raise (``NoScriptError``
for ``NOSCRIPT``, ...), returned in its place in the batch, not raised. A dropped connection fails
every call waiting on it; the next call connects again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from typing import Any, cast

import hiredis
from redis import exceptions
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, UnixDomainSocketConnection

Command = Sequence[str | bytes | int | float]

#: Error replies by their first word, as redis-py maps them (the others are ``ResponseError``).
_ERRORS: dict[str, type[exceptions.RedisError]] = {
    "NOSCRIPT": exceptions.NoScriptError,
    "LOADING": exceptions.BusyLoadingError,
    "READONLY": exceptions.ReadOnlyError,
    "MASTERDOWN": exceptions.MasterDownError,
    "TRYAGAIN": exceptions.TryAgainError,
    "EXECABORT": exceptions.ExecAbortError,
}
#: Connection settings that change what goes over the wire: the pipe is not used with them.
_UNSUPPORTED = ("credential_provider", "client_name", "decode_responses", "ssl", "ssl_context")


def _pack(command: Command) -> bytes:
    packed: bytes = hiredis.pack_command(tuple(command))  # type: ignore[arg-type]  # its stub: one item
    return packed


def _error(reply: Exception) -> exceptions.RedisError:
    message = str(reply)
    kind = _ERRORS.get(message.split(" ", 1)[0], exceptions.ResponseError)
    return kind(message)


class _Batch:
    __slots__ = ("count", "future", "replies")

    def __init__(self, count: int, future: asyncio.Future[list[Any]]) -> None:
        self.count = count
        self.future = future
        self.replies: list[Any] = []


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self._reader = hiredis.Reader(
            protocolError=exceptions.InvalidResponse, replyError=exceptions.ResponseError
        )
        self._waiting: deque[_Batch] = deque()
        self.transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not the class, only the API

    def send(self, data: bytes, count: int, future: asyncio.Future[list[Any]]) -> None:
        assert self.transport is not None
        self._waiting.append(_Batch(count, future))
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        reader, waiting = self._reader, self._waiting
        reader.feed(data)
        try:
            while (reply := reader.gets()) is not False:
                if not waiting:
                    raise exceptions.InvalidResponse("an answer to no command")
                batch = waiting[0]
                batch.replies.append(_error(reply) if isinstance(reply, exceptions.ResponseError) else reply)
                if len(batch.replies) == batch.count:
                    waiting.popleft()
                    if not batch.future.done():
                        batch.future.set_result(batch.replies)
        except exceptions.InvalidResponse as exc:
            self.fail(exceptions.ConnectionError(f"Redis answered out of protocol: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(exceptions.ConnectionError(f"Connection to Redis lost{f': {exc}' if exc else ''}"))

    def fail(self, exc: BaseException) -> None:
        """Fails every call waiting for an answer and drops the connection."""
        if self.lost is None:
            self.lost = exc
        while self._waiting:
            future = self._waiting.popleft().future
            if not future.done():
                future.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()


class RespPipe:
    """One pipelined connection to Redis for script calls (see the module's documentation)."""

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 6379,
        path: str | None = None,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float | None = None,
        connect_timeout_s: float | None = None,
    ) -> None:
        self._host, self._port, self._path, self._db = host, port, path, db
        self._username, self._password = username, password
        self._timeout = timeout_s
        self._connect_timeout = connect_timeout_s or timeout_s
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    @classmethod
    def of(cls, client: Redis) -> RespPipe | None:
        """A pipe to the server ``client`` talks to, with its settings; None when they ask for more
        than this pipe does (then keep to redis-py)."""
        pool = client.connection_pool
        settings = pool.connection_kwargs
        if pool.connection_class not in (Connection, UnixDomainSocketConnection):
            return None
        if any(settings.get(name) for name in _UNSUPPORTED) or str(settings.get("protocol") or 2) != "2":
            return None
        return cls(
            host=settings.get("host", "localhost"),
            port=int(settings.get("port", 6379)),
            path=settings.get("path") if pool.connection_class is UnixDomainSocketConnection else None,
            db=int(settings.get("db") or 0),
            username=settings.get("username"),
            password=settings.get("password"),
            timeout_s=settings.get("socket_timeout"),
            connect_timeout_s=settings.get("socket_connect_timeout"),
        )

    async def execute(self, commands: Sequence[Command]) -> list[Any]:
        """Sends ``commands`` in one write; their replies in order (an error reply as its exception)."""
        protocol = self._protocol
        if protocol is None or protocol.lost is not None:
            protocol = await self._connected()
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        protocol.send(b"".join([_pack(command) for command in commands]), len(commands), future)
        return await self._answer(protocol, future)

    async def _answer(self, protocol: _Protocol, future: asyncio.Future[list[Any]]) -> list[Any]:
        if self._timeout is None:
            return await future
        try:
            async with asyncio.timeout(self._timeout):
                return await future
        except TimeoutError:
            # Its answer may still come and would be taken for the next call's: drop the connection.
            protocol.fail(exceptions.TimeoutError("Timeout reading from Redis"))
            raise exceptions.TimeoutError("Timeout reading from Redis") from None

    async def _connected(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        connecting = self._connecting
        try:
            protocol = await asyncio.shield(connecting)
        finally:
            if connecting.done() and self._connecting is connecting:
                self._connecting = None
        self._protocol = protocol
        return protocol

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        where = self._path or f"{self._host}:{self._port}"
        try:
            async with asyncio.timeout(self._connect_timeout):
                if self._path is not None:
                    _, protocol = await loop.create_unix_connection(_Protocol, self._path)
                else:
                    _, protocol = await loop.create_connection(_Protocol, self._host, self._port)
        except TimeoutError:
            raise exceptions.TimeoutError(f"Timeout connecting to Redis at {where}") from None
        except OSError as exc:
            raise exceptions.ConnectionError(f"Error connecting to Redis at {where}: {exc}") from exc
        handshake: list[tuple[str, ...]] = []
        if self._password is not None:
            handshake.append(
                ("AUTH", self._username, self._password) if self._username else ("AUTH", self._password)
            )
        if self._db:
            handshake.append(("SELECT", str(self._db)))
        if handshake:
            future: asyncio.Future[list[Any]] = loop.create_future()
            protocol.send(b"".join([_pack(c) for c in handshake]), len(handshake), future)
            for command, reply in zip(handshake, await self._answer(protocol, future), strict=True):
                if isinstance(reply, Exception):
                    protocol.fail(exceptions.ConnectionError("Redis refused the connection's set-up"))
                    if command[0] == "AUTH":
                        raise exceptions.AuthenticationError(f"Redis refused the credentials: {reply}")
                    raise exceptions.ConnectionError(f"Redis refused {command[0]}: {reply}")
        return protocol

    async def close(self) -> None:
        protocol, self._protocol = self._protocol, None
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(BaseException):
                await self._connecting
            self._connecting = None
        if protocol is not None and protocol.transport is not None:
            protocol.fail(exceptions.ConnectionError("the limiter is closing"))
