"""The upstream HTTP client, errors mapped to the gateway's tree.

Plain ``http://`` upstreams go through Headwater's own HTTP/1.1 client
(:mod:`headwater.gateway.upstream_http`, ~55 µs of CPU less per call than aiohttp's); ``https://``
ones, and all of them with ``HEADWATER_UPSTREAM_CLIENT=aiohttp``, through one pooled aiohttp
session. Callers see either response through :class:`UpstreamResponse`.

Redirects are never followed (a 307 would re-post the prompt, and the deployment's credential, to
wherever the upstream points): the proxy answers a 3xx with 502 ``upstream_redirect``. A whole
response body is read with :func:`read_capped`: the declared ``Content-Length`` is checked before
reading and the bytes are counted while reading, so a body past the cap is refused (502
``upstream_response_too_large``) without ever being held whole. Error messages name the deployment,
never its URL or credential.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal, Protocol

import aiohttp
import orjson
from multidict import CIMultiDictProxy
from yarl import URL

from headwater.errors import UpstreamTimeout, UpstreamUnavailable
from headwater.gateway.upstream_http import Response, UpstreamBroken
from headwater.gateway.upstream_pool import Pool
from headwater.snapshot import DeploymentView

#: What reading an upstream's body raises when the connection broke (besides ``TimeoutError``).
BROKEN = (aiohttp.ClientError, asyncio.IncompleteReadError, UpstreamBroken)


class Body(Protocol):
    def iter_any(self) -> AsyncIterator[bytes]: ...


class UpstreamResponse(Protocol):
    """A response whose status and headers are in: aiohttp's, or :mod:`upstream_http`'s."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> CIMultiDictProxy[str]: ...
    @property
    def content_type(self) -> str: ...
    @property
    def content_length(self) -> int | None: ...
    @property
    def content(self) -> Body: ...
    async def read(self) -> bytes: ...
    def release(self) -> Any: ...
    def close(self) -> None: ...


class Unreachable(UpstreamUnavailable):
    """Nothing was sent: trying another deployment is safe."""


class Upstream:
    def __init__(
        self,
        *,
        connect_timeout_s: float,
        timeout_s: float,
        pool_size: int,
        client: Literal["auto", "aiohttp"] = "auto",
    ) -> None:
        self._connect_timeout = connect_timeout_s
        self._default_timeout = timeout_s
        self._pool_size = pool_size
        self._client = client
        self._session: aiohttp.ClientSession | None = None
        self._pool: Pool | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300, enable_cleanup_closed=True)
        # No skip_auto_headers: it takes aiohttp off its fast path (a header copy per request).
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        if self._client == "auto":
            self._pool = Pool(limit=self._pool_size, connect_timeout_s=self._connect_timeout)

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _timeout(self, deployment: DeploymentView) -> aiohttp.ClientTimeout:
        seconds = deployment.timeout_s or self._default_timeout
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=None, connect=self._connect_timeout, sock_read=seconds)
            self._timeouts[seconds] = timeout
        return timeout

    async def send(
        self,
        deployment: DeploymentView,
        url: URL,
        headers: Mapping[str, str],
        body: bytes,
        request_id: str,
    ) -> UpstreamResponse:
        """POST ``body`` to ``url`` (the provider made both, and the headers) and return once the
        response headers are in. The caller releases the response."""
        assert self._session is not None, "Upstream.start() was not called"
        if request_id:
            headers = {**headers, "X-Request-Id": request_id}
        if self._pool is not None and url.scheme == "http" and url.raw_user is None:
            return await self._post(self._pool, deployment, url, headers, body)
        try:
            return await self._session.post(
                url, data=body, headers=headers, timeout=self._timeout(deployment), allow_redirects=False
            )
        except aiohttp.ClientConnectorError as exc:
            raise unreachable_error(deployment, exc.os_error) from None
        except TimeoutError:
            raise timeout_error(deployment) from None
        except aiohttp.ClientError as exc:
            raise broken_error(deployment, exc) from None

    async def _post(
        self, pool: Pool, deployment: DeploymentView, url: URL, headers: Mapping[str, str], body: bytes
    ) -> UpstreamResponse:
        try:
            return await pool.post(url, headers, body, deployment.timeout_s or self._default_timeout)
        except TimeoutError:  # connecting or waiting for the headers (an OSError too: first)
            raise timeout_error(deployment) from None
        except OSError as exc:  # connecting failed: nothing was sent
            raise unreachable_error(deployment, exc) from None
        except UpstreamBroken as exc:
            raise broken_error(deployment, exc) from None
        except ValueError:
            raise broken_error(deployment, "a header of its request holds CR, LF or NUL") from None


def unreachable_error(deployment: DeploymentView, exc: OSError) -> Unreachable:
    reason = exc.strerror or "connection failed"
    return Unreachable(
        f"The upstream for deployment {deployment.id} is unreachable ({reason}).", code="upstream_unreachable"
    )


def timeout_error(deployment: DeploymentView) -> UpstreamTimeout:
    return UpstreamTimeout(
        f"The upstream for deployment {deployment.id} did not answer in time.", code="upstream_timeout"
    )


def deadline_error(deployment: DeploymentView, seconds: float) -> UpstreamTimeout:
    return UpstreamTimeout(
        f"The call to deployment {deployment.id} did not finish within its deadline of {seconds:g} s.",
        code="upstream_deadline_exceeded",
    )


def broken_error(deployment: DeploymentView, exc: BaseException | str) -> UpstreamUnavailable:
    reason = exc if isinstance(exc, str) else type(exc).__name__
    return UpstreamUnavailable(
        f"The upstream for deployment {deployment.id} failed: {reason}.", code="bad_upstream_response"
    )


def too_large_error(deployment: DeploymentView, limit: int) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        f"The upstream for deployment {deployment.id} sent a response larger than {limit} bytes.",
        code="upstream_response_too_large",
    )


async def read_capped(response: UpstreamResponse, deployment: DeploymentView, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes (decompressed); the response is released or closed."""
    clean = False
    try:
        declared = response.content_length
        if declared is not None:
            if declared > limit:
                raise too_large_error(deployment, limit)
            # exactly the declared bytes: read at once (Headwater's client refuses compressed ones)
            if isinstance(response, Response) or "Content-Encoding" not in response.headers:
                body = await response.read()
                clean = True
                return body
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise too_large_error(deployment, limit)
            chunks.append(chunk)
        clean = True
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except TimeoutError:
        raise timeout_error(deployment) from None
    except BROKEN as exc:
        raise broken_error(deployment, exc) from None
    finally:
        if clean:
            response.release()
        else:  # never drain (or pool) a connection whose body was refused or cut
            response.close()


def json_object(raw: bytes, deployment: DeploymentView) -> dict[str, Any]:
    """A whole answer that must be a JSON object (502 ``bad_upstream_response`` when it is not)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise broken_error(deployment, "its response is not valid JSON") from None
    if not isinstance(data, dict):
        raise broken_error(deployment, "its response is not a JSON object")
    return data
