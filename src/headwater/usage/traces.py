"""Optional OpenTelemetry traces of gateway calls (``HEADWATER_OTEL_ENDPOINT``).

One span per finished call, made after the fact from the call's
:class:`~headwater.usage.events.UsageEvent`: the gateway's request path is not touched. The sink's
``emit`` is a list append; a background task turns the buffered events into spans about once a
second (a slice at a time, yielding between slices) and hands them to OpenTelemetry's
``BatchSpanProcessor``, whose own thread exports them over OTLP/HTTP (protobuf). ``close`` records
what is left and flushes the processor, for a bounded time (a collector that is down never holds
up a shutdown for long).

When the setting is empty, :func:`build_traces` returns ``None``: no sink, no task, and neither the
OpenTelemetry SDK nor the exporter is imported (they are imported inside it). The provider is
Headwater's own, never the global one, so nothing else in the process starts exporting spans.

Spans follow the OpenTelemetry GenAI semantic conventions (inference and embeddings spans):

- name ``{gen_ai.operation.name} {gen_ai.request.model}`` (``chat llama``), kind ``CLIENT``: the
  span describes the gateway's call to a model server in another process, over HTTP, which is
  what the conventions recommend ``CLIENT`` for (they define no ``SERVER`` GenAI span);
- start and end are the call's own: its arrival and its last byte (the event's ``ts`` minus its
  latency, and ``ts``);
- ``gen_ai.operation.name`` (``chat``, ``text_completion``, ``embeddings``), ``gen_ai.request.model``
  (the public model name), ``gen_ai.provider.name``, ``gen_ai.usage.input_tokens`` and
  ``gen_ai.usage.output_tokens``, ``gen_ai.request.stream`` and, for a stream that produced a token,
  ``gen_ai.response.time_to_first_chunk`` (seconds); ``server.address`` and ``server.port`` of the
  deployment that served the call (the host of its base URL, nothing else of it);
- a failed call has status ``ERROR`` and ``error.type``: ``timeout``, ``bad_gateway``,
  ``throttled``, ``upstream_4xx`` or ``upstream_5xx`` (the ``kind`` label of the metrics); a call
  the client left (``cancelled``) is not an error;
- ``headwater.*``: request id, key id (never the key), principal, deployment, status, HTTP status,
  cost and currency, whether the tokens were estimated, groups, cost center and policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from headwater import __version__
from headwater.request_metrics import upstream_error_kind
from headwater.snapshot import DeploymentView, Snapshot
from headwater.usage.events import UsageEvent

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer
    from opentelemetry.util.types import AttributeValue

log = logging.getLogger("headwater.traces")

#: The gateway's endpoints and the GenAI operation each performs.
OPERATIONS = {
    "chat": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "responses": "chat",
    "messages": "chat",
}
#: Headwater's provider names as the GenAI conventions name them (``gen_ai.provider.name``).
PROVIDER_NAMES = {"azure-openai": "azure.ai.openai", "bedrock": "aws.bedrock"}
#: The path OTLP/HTTP collectors take traces on.
TRACES_PATH = "/v1/traces"
#: Events turned into spans before the task yields to the event loop.
SLICE = 200
#: Longest wait for the last spans to be exported at shutdown.
CLOSE_TIMEOUT_S = 5.0


def traces_url(endpoint: str) -> str:
    """The collector's traces URL: ``/v1/traces`` appended to the endpoint unless already there."""
    base = endpoint.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def server_of(base_url: str) -> tuple[str, int] | None:
    """Host and port of a deployment's base URL (no credentials, path or query), if it has a host."""
    try:
        parts = urlsplit(base_url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host, port or (443 if parts.scheme == "https" else 80)


def span_name(event: UsageEvent) -> str:
    return f"{OPERATIONS.get(event.endpoint, event.endpoint)} {event.model}"


def attributes(event: UsageEvent, deployment: DeploymentView | None) -> dict[str, AttributeValue]:
    """A call's span attributes: the GenAI conventions' and Headwater's own."""
    operation = OPERATIONS.get(event.endpoint, event.endpoint)
    found: dict[str, AttributeValue] = {
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": event.model,
        "gen_ai.usage.input_tokens": event.prompt_tokens,
        "gen_ai.usage.output_tokens": event.completion_tokens,
        "headwater.request_id": event.request_id,
        "headwater.key_id": event.key_id,
        "headwater.principal": event.principal,
        "headwater.status": event.status,
        "headwater.http_status": event.http_status,
        "headwater.cost": float(event.cost),
        "headwater.currency": event.currency,
        "headwater.estimated": event.estimated,
    }
    if event.provider:
        found["gen_ai.provider.name"] = PROVIDER_NAMES.get(event.provider, event.provider)
    if operation != "embeddings":
        found["gen_ai.request.stream"] = event.streamed
    if event.streamed and event.ttft_ms is not None:
        found["gen_ai.response.time_to_first_chunk"] = event.ttft_ms / 1000.0
    if event.status == "error":
        found["error.type"] = upstream_error_kind(event.http_status)
    if deployment is not None and (server := server_of(deployment.base_url)) is not None:
        found["server.address"], found["server.port"] = server
    if event.deployment:
        found["headwater.deployment"] = event.deployment
    if event.groups:
        found["headwater.groups"] = list(event.groups)
    if event.cost_center is not None:
        found["headwater.cost_center"] = event.cost_center
    if event.policy is not None:
        found["headwater.policy"] = event.policy
    return found


def find_deployment(snapshot: Snapshot, event: UsageEvent) -> DeploymentView | None:
    model = snapshot.models.get(event.model)
    if model is None or not event.deployment:
        return None
    return next((d for d in model.deployments if d.id == event.deployment), None)


class Traces:
    """The span sink: ``emit`` buffers an event; the background task makes it a span."""

    def __init__(
        self,
        provider: TracerProvider,
        snapshot: Callable[[], Snapshot],
        *,
        interval_s: float = 1.0,
    ) -> None:
        from opentelemetry.context import Context
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self._provider = provider
        self._tracer: Tracer = provider.get_tracer("headwater", __version__)
        self._snapshot = snapshot
        self._interval = interval_s
        self._events: list[UsageEvent] = []
        #: The usage sink: a list append.
        self.emit = self._events.append
        self._task: asyncio.Task[None] | None = None
        self._root = Context()  # every span starts a trace of its own
        self._client = SpanKind.CLIENT
        self._error = Status(StatusCode.ERROR)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="traces")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                for _ in self._record():
                    await asyncio.sleep(0)
            except Exception:  # a defect: lose these spans, never the task (the buffer would grow)
                log.exception("traces: making spans failed")

    def _record(self) -> Iterator[None]:
        """Turn the buffered events into spans, yielding after each slice."""
        batch = self._events.copy()
        self._events.clear()
        if not batch:
            return
        snapshot = self._snapshot()
        for start in range(0, len(batch), SLICE):
            for event in batch[start : start + SLICE]:
                self._span(event, snapshot)
            yield

    def _span(self, event: UsageEvent, snapshot: Snapshot) -> None:
        end_ns = int(event.ts * 1e9)
        start_ns = end_ns - int(event.latency_ms * 1e6)
        span = self._tracer.start_span(
            span_name(event),
            context=self._root,
            kind=self._client,
            attributes=attributes(event, find_deployment(snapshot, event)),
            start_time=start_ns,
        )
        if event.status == "error":
            span.set_status(self._error)
        span.end(end_time=end_ns)

    async def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Record what is left and export it; waits at most ``timeout_s`` for the collector."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for _ in self._record():
            pass
        if not await _in_daemon_thread(self._provider.shutdown, timeout_s):
            log.warning("traces: the collector took over %.0f s; the last spans may be lost", timeout_s)


async def _in_daemon_thread(work: Callable[[], object], timeout_s: float) -> bool:
    """Run blocking ``work`` in a daemon thread (one left running never holds up the exit);
    whether it finished within ``timeout_s``."""
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def run() -> None:
        try:
            work()
        except Exception:
            log.exception("traces: shutting down the exporter failed")
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(done.set)

    threading.Thread(target=run, name="traces-close", daemon=True).start()
    try:
        await asyncio.wait_for(done.wait(), timeout_s)
    except TimeoutError:
        return False
    return True


def build_traces(endpoint: str, service_name: str, snapshot: Callable[[], Snapshot]) -> Traces | None:
    """The span sink exporting to ``endpoint``; ``None`` (and nothing imported) when it is empty.

    The exporter also reads the standard ``OTEL_EXPORTER_OTLP_*`` variables (headers, timeout,
    compression, certificates), the processor the ``OTEL_BSP_*`` ones, the sampler
    ``OTEL_TRACES_SAMPLER``, and the resource ``OTEL_RESOURCE_ATTRIBUTES``.
    """
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": service_name, "service.version": __version__})
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)  # closed by Traces.close
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint))))
    where = urlsplit(endpoint)
    log.info("traces: exporting a span per gateway call to %s://%s", where.scheme, where.hostname)
    return Traces(provider, snapshot)
