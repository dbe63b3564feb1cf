"""The checks of the services Headwater talks to besides the database: Redis and the OIDC issuer.

Redis must answer ``PING``; the issuer's discovery document must answer, name the configured issuer
exactly and list ``jwks_uri`` (bearer access tokens), plus the authorization and token endpoints
when browser sign-in is configured (a client secret is set), and its key set must hold a key.
Nothing follows a redirect or reads a proxy from the environment.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import aiohttp
import orjson

from headwater.doctor.report import Check, error, ok, redact_url
from headwater.settings import Settings

REDIS = "redis"
OIDC = "oidc"
_MAX_BODY_BYTES = 1024 * 1024


async def check_redis(settings: Settings, timeout_s: float) -> Check:
    if not settings.redis_url:
        return ok(REDIS, "not configured: limits and change notification stay in one process (one replica)")
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    where = redact_url(settings.redis_url)
    fix = "check HEADWATER_REDIS_URL (host, port, password, database) and that Redis runs and accepts "
    fix += "connections from this host"
    if settings.limits_fail == "closed":
        fix += "; until then every limited call is refused (HEADWATER_LIMITS_FAIL=closed)"
    try:
        client = Redis.from_url(
            settings.redis_url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
        )
    except ValueError:
        return error(REDIS, f"{where}: not a Redis URL", "use redis://[:PASSWORD@]HOST:PORT/DB")
    try:
        async with asyncio.timeout(timeout_s):
            await client.ping()
            info = await client.info("server")
    except TimeoutError:
        return error(REDIS, f"{where}: no answer within {timeout_s:g} s", fix)
    except (RedisError, OSError) as exc:
        return error(REDIS, f"{where}: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}", fix)
    finally:
        await client.aclose()
    return ok(REDIS, f"{where}: answers PING (Redis {info.get('redis_version', '?')})")


class _Refused(Exception):
    """What the issuer answered is not usable; the message says why."""


async def _get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url, allow_redirects=False, headers={"Accept": "application/json"}) as response:
        if response.status != 200:
            raise _Refused(f"{url} answered HTTP {response.status}")
        body = await response.content.read(_MAX_BODY_BYTES + 1)
        if len(body) > _MAX_BODY_BYTES:
            raise _Refused(f"{url} answered more than {_MAX_BODY_BYTES} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _Refused(f"{url} did not answer JSON") from None


def _unreachable(exc: aiohttp.ClientConnectorError) -> str:
    if isinstance(exc.os_error, socket.gaierror):
        return "the host name does not resolve"
    code = exc.os_error.errno
    return os.strerror(code).lower() if code and code > 0 else "connection failed"


async def _discover(settings: Settings, timeout_s: float) -> str:
    """What was found, when everything needed is there; raises :class:`_Refused` saying what is not."""
    issuer = settings.oidc_issuer
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s)
    ) as http:
        document = await _get_json(http, f"{issuer}/.well-known/openid-configuration")
        if not isinstance(document, dict):
            raise _Refused("the discovery document is not a JSON object")
        if document.get("issuer") != issuer:
            raise _Refused(
                f"the discovery document names the issuer {document.get('issuer')!r}, not {issuer!r}"
            )
        needed = ["jwks_uri"]
        if settings.oidc_client_secret is not None:
            needed += ["authorization_endpoint", "token_endpoint"]
        absent = [name for name in needed if not isinstance(document.get(name), str)]
        if absent:
            raise _Refused(f"the discovery document has no {', '.join(absent)}")
        keys = await _get_json(http, document["jwks_uri"])
        found = keys.get("keys") if isinstance(keys, dict) else None
        if not isinstance(found, list) or not found:
            raise _Refused("the key set (jwks_uri) holds no key")
    sign_in = "browser sign-in endpoints present" if len(needed) > 1 else "browser sign-in not configured"
    return f"{redact_url(issuer)}: discovery answers, {len(found)} signing key(s), {sign_in}"


async def check_oidc(settings: Settings, timeout_s: float) -> Check:
    if not settings.oidc_issuer:
        return ok(OIDC, "not configured: no bearer access tokens or browser sign-in")
    where = redact_url(settings.oidc_issuer)
    fix = "check HEADWATER_OIDC_ISSUER and that this host reaches it: "
    fix += f"curl {where}/.well-known/openid-configuration"
    try:
        async with asyncio.timeout(timeout_s):
            return ok(OIDC, await _discover(settings, timeout_s))
    except TimeoutError:
        return error(OIDC, f"{where}: no answer within {timeout_s:g} s", fix)
    except aiohttp.ClientConnectorError as exc:
        return error(OIDC, f"{where}: unreachable ({_unreachable(exc)})", fix)
    except _Refused as exc:
        return error(
            OIDC,
            str(exc),
            "set HEADWATER_OIDC_ISSUER to exactly the issuer the provider names (no trailing path), and "
            "check the provider's configuration",
        )
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return error(OIDC, f"{where}: the request failed ({type(exc).__name__})", fix)
