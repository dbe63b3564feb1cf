"""Change notification: after a committed change, every gateway refreshes its snapshot at once.

Without Redis (one process), :class:`LocalChanges` refreshes this process's snapshot.

With ``HEADWATER_REDIS_URL``, :class:`RedisChanges` also publishes on the Redis pub/sub channel
``<HEADWATER_REDIS_PREFIX>changes`` (``hw:changes`` by default); the message is the publishing
process's random id. Every process (each worker of each replica) subscribes to that channel and,
on a message from another process, re-reads the revision and reloads its snapshot when it moved:
a revocation is in force everywhere in the time of one Redis round trip and one snapshot load.

Redis is an accelerator, never a dependency: a failed publish is logged and the change stands; a
lost subscription is re-established with exponential backoff (0.1 s doubling to 5 s), followed by
a refresh for what may have been missed; the periodic revision check
(``HEADWATER_SNAPSHOT_POLL_INTERVAL_S``) keeps running as the safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger("headwater.changes")

Refresh = Callable[[], Awaitable[None]]

CHANNEL = "changes"
_PUBLISH_TIMEOUT_S = 2.0
_POLL_S = 1.0
_HEALTH_CHECK_S = 10.0
_BACKOFF_MIN_S = 0.1
_BACKOFF_MAX_S = 5.0


class Changes(Protocol):
    async def changed(self) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


async def _refresh_logged(refresh: Refresh) -> None:
    try:
        await refresh()
    except Exception as exc:  # the change is committed: the revision poll will catch up
        log.warning("snapshot refresh after a change failed (the periodic check will retry): %s", exc)


class LocalChanges:
    """One process: the change made here is served here at once."""

    def __init__(self, refresh: Refresh) -> None:
        self._refresh = refresh

    async def changed(self) -> None:
        await _refresh_logged(self._refresh)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisChanges:
    """Many processes: publish each change on a Redis channel, refresh on every peer's message."""

    def __init__(self, url: str, prefix: str, refresh: Refresh) -> None:
        self.url = url
        self.channel = f"{prefix}{CHANNEL}"
        self.origin = os.urandom(8).hex()
        self.received = 0  # messages from other processes (for tests and metrics)
        self.sessions = 0  # successful subscriptions so far
        self._failing = False
        self._refresh = refresh
        self._publisher: Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._pending: asyncio.Task[None] | None = None
        self._again = False

    def _client(self, *, retries: int, **options: Any) -> Redis:
        return Redis.from_url(
            self.url,
            socket_connect_timeout=_PUBLISH_TIMEOUT_S,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), retries),
            **options,
        )

    async def changed(self) -> None:
        """After a commit: serve it here and tell the others, both at once."""
        await asyncio.gather(_refresh_logged(self._refresh), self._publish())

    async def _publish(self) -> None:
        if self._publisher is None:
            # One retry: a pooled connection that died with a Redis restart is replaced at once.
            self._publisher = self._client(retries=1, socket_timeout=_PUBLISH_TIMEOUT_S)
        try:
            await asyncio.wait_for(self._publisher.publish(self.channel, self.origin), _PUBLISH_TIMEOUT_S)
        except Exception as exc:
            log.warning(
                "could not publish a change on Redis (peers will see it within the poll interval): %s",
                str(exc) or type(exc).__name__,
            )

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="change-listener")

    async def close(self) -> None:
        for task in (self._listener, self._pending):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._listener = self._pending = None
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.aclose()
            self._publisher = None

    # ---- subscriber -----------------------------------------------------------------------------
    async def _listen(self) -> None:
        delay = _BACKOFF_MIN_S
        while True:
            sessions = self.sessions
            try:
                await self._serve()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.sessions > sessions:  # it worked for a while: start the backoff afresh
                    delay = _BACKOFF_MIN_S
                if not self._failing:
                    log.warning(
                        "Redis change subscription lost (%s); reconnecting with backoff, polling meanwhile",
                        str(exc) or type(exc).__name__,
                    )
                self._failing = True
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, _BACKOFF_MAX_S)

    async def _serve(self) -> None:
        """Subscribe, then refresh on every other process's message until the connection breaks."""
        # No retries inside redis-py: a broken subscription must surface here, so that the
        # re-subscription is followed by a refresh (messages may have been missed).
        client = self._client(retries=0, health_check_interval=_HEALTH_CHECK_S)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        own = self.origin.encode()
        try:
            await pubsub.subscribe(self.channel)
            self.sessions += 1
            if self.sessions > 1:  # changes may have been published while we were away
                self._schedule()
            if self._failing:
                log.info("Redis change subscription on %s restored", self.channel)
                self._failing = False
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=_POLL_S)
                if message is None or message.get("type") != "message" or message.get("data") == own:
                    continue  # nothing, a health check, or our own change (already served)
                self.received += 1
                self._schedule()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await client.aclose()

    def _schedule(self) -> None:
        """Refresh soon; messages arriving meanwhile coalesce into one more refresh."""
        if self._pending is not None and not self._pending.done():
            self._again = True
            return
        self._pending = asyncio.create_task(self._refresh_loop(), name="change-refresh")

    async def _refresh_loop(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            await _refresh_logged(self._refresh)


def build_changes(redis_url: str, prefix: str, refresh: Refresh) -> Changes:
    return RedisChanges(redis_url, prefix, refresh) if redis_url else LocalChanges(refresh)
