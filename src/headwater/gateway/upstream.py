"""The upstream HTTP client: one pooled aiohttp session, errors mapped to the gateway's tree."""

from __future__ import annotations

import asyncio

import aiohttp
from yarl import URL

from headwater.errors import UpstreamTimeout, UpstreamUnavailable
from headwater.snapshot import DeploymentView


class Unreachable(UpstreamUnavailable):
    """Nothing was sent: trying another deployment is safe."""


class Upstream:
    def __init__(self, *, connect_timeout_s: float, timeout_s: float, pool_size: int) -> None:
        self._connect_timeout = connect_timeout_s
        self._default_timeout = timeout_s
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._headers: dict[tuple[str, str | None], dict[str, str]] = {}
        self._urls: dict[tuple[str, str], URL] = {}

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300, enable_cleanup_closed=True)
        # No skip_auto_headers: it takes aiohttp off its fast path (a header copy per request).
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)

    async def close(self) -> None:
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

    def _headers_for(self, deployment: DeploymentView) -> dict[str, str]:
        cache_key = (deployment.id, deployment.credential)
        headers = self._headers.get(cache_key)
        if headers is None:
            headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
            if deployment.credential:
                headers["Authorization"] = f"Bearer {deployment.credential}"
            self._headers[cache_key] = headers
        return headers

    async def post(
        self, deployment: DeploymentView, path: str, body: bytes, request_id: str
    ) -> aiohttp.ClientResponse:
        """POST and return once the response headers are in. The caller releases the response."""
        assert self._session is not None, "Upstream.start() was not called"
        headers = self._headers_for(deployment)
        if request_id:
            headers = {**headers, "X-Request-Id": request_id}
        url = self._urls.get((deployment.base_url, path))
        if url is None:
            if len(self._urls) > 10_000:
                self._urls.clear()
            url = self._urls[(deployment.base_url, path)] = URL(deployment.base_url + path)
        try:
            return await self._session.post(
                url, data=body, headers=headers, timeout=self._timeout(deployment)
            )
        except aiohttp.ClientConnectorError as exc:
            reason = exc.os_error.strerror or "connection failed"
            raise Unreachable(
                f"The upstream for deployment {deployment.id} is unreachable ({reason}).",
                code="upstream_unreachable",
            ) from None
        except TimeoutError:
            raise timeout_error(deployment) from None
        except aiohttp.ClientError as exc:
            raise broken_error(deployment, exc) from None


def timeout_error(deployment: DeploymentView) -> UpstreamTimeout:
    return UpstreamTimeout(
        f"The upstream for deployment {deployment.id} did not answer in time.", code="upstream_timeout"
    )


def broken_error(deployment: DeploymentView, exc: BaseException | str) -> UpstreamUnavailable:
    reason = exc if isinstance(exc, str) else type(exc).__name__
    return UpstreamUnavailable(
        f"The upstream for deployment {deployment.id} failed: {reason}.", code="bad_upstream_response"
    )


async def read_all(response: aiohttp.ClientResponse, deployment: DeploymentView) -> bytes:
    try:
        return await response.read()
    except TimeoutError:
        raise timeout_error(deployment) from None
    except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
        raise broken_error(deployment, exc) from None
    finally:
        response.release()
