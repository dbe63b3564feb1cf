"""Runtime metrics of self-hosted model servers: a periodic scrape of each deployment's ``/metrics``.

Every ``interval_s`` the :class:`RuntimeScraper` reads the deployments of the current snapshot (no
storage of its own) and fetches each server's ``/metrics``, the deployment's ``base_url`` without
its trailing ``/v1``, once per server however many deployments share it, at most ``concurrency`` at
a time. A fetch is bounded in time (``timeout_s`` for connecting, the headers and the whole body)
and in size (``max_body_bytes``, counted while reading, never decompressed: ``identity`` is asked
for), and its parsing (:mod:`headwater.catalog.runtime_read`) runs in a worker thread, so a huge,
slow or garbage body costs the worker little. Redirects are not followed; a deployment's credential
goes to its own server only, as on its calls. Errors name the problem, never the URL or a credential.

Per (model, deployment) it keeps the last outcome (:class:`DeploymentRuntime`): ``up``, when, the
error, the figures read, and the generation throughput, the rate of the generation-token counter
between two successful scrapes. A server that answers 404 (or 401, 403, 405, 410), or whose
answer holds nothing of vLLM's, is *not exposed*: that is logged once, and it is asked again only
every ``20 × interval_s`` (at most 5 minutes). Other failures are logged when they start and when
they end, not at every scrape.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

import aiohttp

from headwater.catalog.runtime_read import Reading, Samples, Unreadable, parse
from headwater.clock import epoch, monotonic
from headwater.snapshot import DeploymentView, Snapshot

log = logging.getLogger("headwater.runtime")

#: What Headwater's ``/metrics`` exposes of them, each labelled ``{model, deployment}``.
RUNTIME_METRIC_NAMES = (
    "headwater_model_runtime_up",
    "headwater_model_requests_running",
    "headwater_model_requests_waiting",
    "headwater_model_kv_cache_usage_ratio",
    "headwater_model_time_to_first_token_seconds",
    "headwater_model_prompt_tokens_total",
    "headwater_model_generation_tokens_total",
    "headwater_model_generation_tokens_per_second",
)
MAX_BODY_BYTES = 4 * 1024 * 1024
CONCURRENCY = 8
NOT_EXPOSED_INTERVALS = 20
NOT_EXPOSED_MAX_S = 300.0
#: Answers that mean "no metrics here for us": nothing to retry at every interval.
NOT_EXPOSED_STATUSES = frozenset({401, 403, 404, 405, 410})
_NOTHING = Reading()


def metrics_url(base_url: str) -> str:
    """``http://vllm:8000/v1`` → ``http://vllm:8000/metrics``."""
    base = base_url.rstrip("/")
    return (base[:-3] if base.endswith("/v1") else base) + "/metrics"


def scrape_timeout(interval_s: float) -> float:
    """The interval, within 1 to 5 seconds."""
    return min(5.0, max(1.0, interval_s))


@dataclass(frozen=True, slots=True)
class DeploymentRuntime:
    """What the last scrape of a deployment's server found (``scraped_at``: Unix time, None: never).

    ``exposed``: True once its server showed vLLM metrics, False when it answered without them (not
    exposed), None while not known (never scraped, or never answered)."""

    model: str
    deployment: str
    up: bool = False
    exposed: bool | None = None
    scraped_at: float | None = None
    error: str | None = None
    reading: Reading = _NOTHING
    generation_tokens_per_second: float | None = None


class _Failed(Exception):
    """A scrape that failed; the message is what users see."""


class _NotExposed(Exception):
    """The server has no vLLM metrics."""


@dataclass(slots=True)
class _Server:
    """One ``/metrics`` URL (with the credential it is asked with)."""

    due: float = 0.0  # when a server that is not exposed is asked again
    state: str = "new"  # new | up | failing | not exposed


@dataclass(slots=True)
class _Rate:
    at: float
    generation_tokens: float


_Target = tuple[str, str | None]  # URL, credential


class RuntimeScraper:
    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        interval_s: float,
        *,
        timeout_s: float | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._snapshot = snapshot
        self.interval_s = interval_s
        self._timeout = timeout_s if timeout_s is not None else scrape_timeout(interval_s)
        self._max_body = max_body_bytes
        self._concurrency = concurrency
        self._limit = asyncio.Semaphore(concurrency)
        self._servers: dict[_Target, _Server] = {}
        self._runtime: dict[tuple[str, str], DeploymentRuntime] = {}
        self._rates: dict[tuple[str, str], _Rate] = {}
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._reading: dict[_Target, asyncio.Task[None]] = {}

    @property
    def enabled(self) -> bool:
        return self.interval_s > 0

    async def start(self) -> None:
        if not self.enabled:
            return
        connector = aiohttp.TCPConnector(limit=self._concurrency, force_close=True)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        self._task = asyncio.create_task(self._run(), name="runtime-scraper")

    async def stop(self) -> None:
        tasks = [task for task in (self._task, *self._reading.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def of_model(self, name: str) -> list[DeploymentRuntime] | None:
        """The model's deployments, in order, as last scraped (None: not in the snapshot)."""
        model = self._snapshot().models.get(name)
        if model is None:
            return None
        return [self._runtime.get((name, d.id)) or DeploymentRuntime(name, d.id) for d in model.deployments]

    def all(self) -> list[DeploymentRuntime]:
        return list(self._runtime.values())

    async def _run(self) -> None:
        while True:
            try:
                self.scrape()
            except Exception:  # the scraper never stops; the next round tries again
                log.exception("runtime metrics: a scrape round failed")
            await asyncio.sleep(self.interval_s)

    def scrape(self) -> None:
        """One round: a scrape of every server that is due and not still being read (each on its own:
        a slow server delays no other), and the state of the deployments gone is dropped."""
        targets: dict[_Target, list[tuple[str, DeploymentView]]] = {}
        for model in self._snapshot().models.values():
            for deployment in model.deployments:
                credential = None if "@" in deployment.base_url else deployment.credential
                target = (metrics_url(deployment.base_url), credential)
                targets.setdefault(target, []).append((model.name, deployment))
        now = monotonic()
        for target, users in targets.items():
            server = self._servers.setdefault(target, _Server())
            if server.due <= now and target not in self._reading:
                task = asyncio.create_task(self._scrape(target, server, users), name="runtime-scrape")
                self._reading[target] = task
                task.add_done_callback(partial(self._read_done, target))
        kept = {(name, deployment.id) for users in targets.values() for name, deployment in users}
        for gone in [key for key in self._runtime if key not in kept]:
            del self._runtime[gone]
            self._rates.pop(gone, None)
        for server_gone in [target for target in self._servers if target not in targets]:
            del self._servers[server_gone]

    def _read_done(self, target: _Target, task: asyncio.Task[None]) -> None:
        if self._reading.get(target) is task:
            del self._reading[target]

    async def _scrape(
        self, target: _Target, server: _Server, users: list[tuple[str, DeploymentView]]
    ) -> None:
        async with self._limit:
            try:
                samples = await self._read(*target)
            except _NotExposed as exc:
                self._not_exposed(server, users, str(exc))
                return
            except _Failed as exc:
                self._failed(server, users, str(exc))
                return
            except Exception:
                log.exception("runtime metrics of %s: the scrape failed", _names(users))
                return
        if server.state != "up" and server.state != "new":
            log.info("runtime metrics of %s: read again", _names(users))
        server.state = "up"
        for name, deployment in users:
            self._record(name, deployment, samples.reading(deployment.upstream_model))

    async def _read(self, url: str, credential: str | None) -> Samples:
        try:
            async with asyncio.timeout(self._timeout):
                body = await self._fetch(url, credential)
        except TimeoutError:
            raise _Failed(f"no complete answer within {self._timeout:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            raise _Failed(f"unreachable ({exc.os_error.strerror or 'connection failed'})") from None
        except (aiohttp.ClientError, ValueError, OSError) as exc:
            raise _Failed(f"the request failed ({type(exc).__name__})") from None
        try:
            samples = await asyncio.to_thread(parse, body)
        except Unreadable as exc:
            raise _Failed(str(exc)) from None
        if samples is None:
            raise _NotExposed("no vLLM metrics in the response")
        return samples

    async def _fetch(self, url: str, credential: str | None) -> bytes:
        assert self._session is not None, "RuntimeScraper.start() was not called"
        headers = {"Accept": "text/plain", "Accept-Encoding": "identity"}
        if credential:
            headers["Authorization"] = f"Bearer {credential}"
        async with self._session.get(url, headers=headers, allow_redirects=False) as response:
            if response.status in NOT_EXPOSED_STATUSES:
                raise _NotExposed(f"no /metrics for Headwater (HTTP {response.status})")
            if response.status != 200:
                raise _Failed(f"HTTP {response.status}")
            if response.headers.get("Content-Encoding", "identity").lower() != "identity":
                raise _Failed("a compressed response, though identity was asked for")
            declared = response.content_length
            if declared is not None and declared > self._max_body:
                raise _Failed(f"metrics larger than {self._max_body} bytes")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_any():
                size += len(chunk)
                if size > self._max_body:
                    raise _Failed(f"metrics larger than {self._max_body} bytes")
                chunks.append(chunk)
            return b"".join(chunks)

    def _record(self, name: str, deployment: DeploymentView, reading: Reading) -> None:
        key = (name, deployment.id)
        now = monotonic()
        rate = None
        previous = self._rates.get(key)
        counted = reading.generation_tokens
        if counted is not None:
            if previous is not None and counted >= previous.generation_tokens and now > previous.at:
                rate = (counted - previous.generation_tokens) / (now - previous.at)
            self._rates[key] = _Rate(now, counted)
        self._runtime[key] = DeploymentRuntime(name, deployment.id, True, True, epoch(), None, reading, rate)

    def _failed(self, server: _Server, users: list[tuple[str, DeploymentView]], error: str) -> None:
        if server.state != "failing":
            log.warning("runtime metrics of %s could not be read: %s", _names(users), error)
        server.state = "failing"
        for name, deployment in users:
            key = (name, deployment.id)
            before = self._runtime.get(key)
            exposed = before.exposed if before is not None else None
            self._runtime[key] = DeploymentRuntime(name, deployment.id, False, exposed, epoch(), error)

    def _not_exposed(self, server: _Server, users: list[tuple[str, DeploymentView]], why: str) -> None:
        wait = min(NOT_EXPOSED_MAX_S, NOT_EXPOSED_INTERVALS * self.interval_s)
        server.due = monotonic() + wait
        if server.state != "not exposed":
            log.info(
                "runtime metrics of %s: not exposed (%s), asked again every %g s", _names(users), why, wait
            )
        server.state = "not exposed"
        for name, deployment in users:
            self._runtime[(name, deployment.id)] = DeploymentRuntime(
                name, deployment.id, False, False, epoch(), f"not exposed: {why}"
            )
            self._rates.pop((name, deployment.id), None)


def _names(users: Iterable[tuple[str, DeploymentView]]) -> str:
    ids = [deployment.id for _, deployment in users]
    shown = ", ".join(ids[:5])
    return f"deployment {shown}" if len(ids) == 1 else f"deployments {shown}" + (" …" if len(ids) > 5 else "")
