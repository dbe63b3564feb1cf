"""The limiter's own Redis connection (headwater.limits.resp): every answer reaches the call that
asked, whatever fails, times out or is cancelled in between; errors are redis-py's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio
from redis import exceptions

from headwater.limits.resp import RespPipe
from tests.limits.conftest import REDIS_URL

pytestmark = pytest.mark.redis


@pytest.fixture
async def pipe() -> AsyncIterator[RespPipe]:
    client = redis.asyncio.Redis.from_url(REDIS_URL, socket_timeout=0.3)
    made = RespPipe.of(client)
    assert made is not None
    try:
        yield made
    finally:
        await made.close()
        await client.aclose()


async def test_answers_and_error_replies_come_back_in_order(pipe: RespPipe, prefix: str) -> None:
    answers = await pipe.execute(
        [
            ("ECHO", "a"),
            ("EVALSHA", "0" * 40, 0),
            ("NO-SUCH-COMMAND",),
            ("INCRBY", f"{prefix}n", 5),
            ("ECHO", "b"),
        ]
    )
    assert answers[0] == b"a" and answers[3] == 5 and answers[4] == b"b"
    assert isinstance(answers[1], exceptions.NoScriptError)
    assert type(answers[2]) is exceptions.ResponseError and "NO-SUCH-COMMAND" in str(answers[2])
    await pipe.execute([("DEL", f"{prefix}n")])


async def test_a_timeout_drops_the_connection_so_a_late_answer_is_never_taken_for_another(
    pipe: RespPipe, prefix: str
) -> None:
    with pytest.raises(exceptions.TimeoutError):
        await pipe.execute([("BLPOP", f"{prefix}empty", "0.6")])  # answers nil after 0.6 s
    assert await pipe.execute([("ECHO", "mine")]) == [b"mine"]
    await asyncio.sleep(0.5)  # the blocked call's nil would have arrived by now
    assert await pipe.execute([("ECHO", "still mine")]) == [b"still mine"]


async def test_a_cancelled_call_leaves_the_next_ones_their_own_answers(pipe: RespPipe, prefix: str) -> None:
    blocked = asyncio.ensure_future(pipe.execute([("BLPOP", f"{prefix}empty", "0.1")]))
    await asyncio.sleep(0.02)
    blocked.cancel()
    assert await pipe.execute([("ECHO", "after")]) == [b"after"]  # sent behind the blocked one


async def test_a_killed_connection_fails_the_calls_waiting_and_the_next_call_connects_again(
    pipe: RespPipe, prefix: str
) -> None:
    (own_id,) = await pipe.execute([("CLIENT", "ID")])
    waiting = asyncio.ensure_future(pipe.execute([("BLPOP", f"{prefix}empty", "0.25")]))
    await asyncio.sleep(0.05)
    admin = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        kill: Any = admin.execute_command  # untyped in redis-py
        await kill("CLIENT", "KILL", "ID", own_id)
    finally:
        await admin.aclose()
    with pytest.raises(exceptions.ConnectionError):
        await waiting
    (new_id,) = await pipe.execute([("CLIENT", "ID")])
    assert new_id != own_id


async def test_the_database_of_the_url_is_selected(prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + "/5")
    made = RespPipe.of(client)
    assert made is not None
    try:
        await made.execute([("SET", f"{prefix}db", "five")])
        assert await client.get(f"{prefix}db") == b"five"
    finally:
        await client.delete(f"{prefix}db")
        await made.close()
        await client.aclose()


async def test_credentials_redis_refuses_are_an_authentication_error() -> None:
    made = RespPipe(host="127.0.0.1", port=int(REDIS_URL.rsplit(":", 1)[1].split("/")[0]), password="wrong")
    try:
        with pytest.raises(exceptions.AuthenticationError):
            await made.execute([("PING",)])
    finally:
        await made.close()


async def test_nothing_listening_is_a_connection_error() -> None:
    made = RespPipe(host="127.0.0.1", port=1, timeout_s=0.5)
    with pytest.raises(exceptions.ConnectionError):
        await made.execute([("PING",)])
    await made.close()


@pytest.mark.parametrize(
    ("url", "options", "own"),
    [
        ("redis://127.0.0.1:6379/0", {}, True),
        ("unix:///run/redis.sock?db=2", {}, True),
        ("rediss://127.0.0.1:6380/0", {}, False),  # TLS: redis-py's
        ("redis://127.0.0.1:6379/0", {"decode_responses": True}, False),
        ("redis://127.0.0.1:6379/0", {"protocol": 3}, False),
        ("redis://127.0.0.1:6379/0", {"client_name": "hw"}, False),
    ],
)
async def test_settings_the_pipe_does_not_speak_keep_to_redis_py(
    url: str, options: dict[str, object], own: bool
) -> None:
    client = redis.asyncio.Redis.from_url(url, **options)  # type: ignore[arg-type]
    try:
        assert (RespPipe.of(client) is not None) is own
    finally:
        await client.aclose()
