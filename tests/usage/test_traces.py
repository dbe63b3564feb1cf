"""OpenTelemetry traces (HEADWATER_OTEL_ENDPOINT): one GenAI span per gateway call, off by default.

A real OTLP/HTTP receiver runs in the test (``POST /v1/traces``, protobuf bodies decoded with
opentelemetry-proto); real `headwater serve` and `headwater sim` processes; calls through the OpenAI
SDK. Each span is checked against the usage event the admin API returns for the same call.
"""

from __future__ import annotations

import gzip
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.support import (
    Server,
    Sim,
    apply,
    cli,
    create_key,
    database,
    doc,
    free_port,
    model_doc,
    output,
    start_server,
    stop,
    usage_events,
    wait_for,
)

pytestmark = pytest.mark.e2e

UPSTREAM_SECRET = "sk-" + "upstream-trace-secret-4711"
URL_PASSWORD = "url-password-0815"
CREDENTIAL_ENV = "HEADWATER_UPSTREAM_TRACES_KEY"
HELLO: list[Any] = [{"role": "user", "content": "Where do rivers begin?"}]
#: How `headwater serve` ends after SIGTERM when it was not killed.
GRACEFUL = (0, -signal.SIGTERM)


def value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value(item) for item in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


@dataclass
class Received:
    span: Span
    resource: dict[str, Any]
    scope: str

    @property
    def attributes(self) -> dict[str, Any]:
        return {kv.key: value(kv.value) for kv in self.span.attributes}


@dataclass
class Receiver:
    """An OTLP/HTTP trace receiver: every request body as it came, and the spans in them."""

    url: str
    bodies: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    spans: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, path: str, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.lock:
            self.paths.append(path)
            self.bodies.append(body)
            for resource_spans in request.resource_spans:
                resource = {kv.key: value(kv.value) for kv in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(Received(span, resource, scope_spans.scope.name))

    def by_request(self) -> dict[str, Received]:
        with self.lock:
            return {received.attributes["headwater.request_id"]: received for received in self.spans}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    port = free_port()
    found = Receiver(f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            found.take(self.path, body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield found
    http.shutdown()
    http.server_close()


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database("sqlite", tmp_path_factory.mktemp("traces")) as url:
        yield url


def serve(url: str, receiver: Receiver, **env: str) -> Server:
    return start_server(
        url,
        extra_env={
            "HEADWATER_OTEL_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # the processor's export period (ms)
            CREDENTIAL_ENV: UPSTREAM_SECRET,
            **env,
        },
    )


@pytest.fixture(scope="module")
def traced(sqlite_url: str, receiver: Receiver, sim: Sim) -> Iterator[Server]:
    server = serve(sqlite_url, receiver, HEADWATER_OTEL_SERVICE_NAME="headwater-test")
    credential = {"credential_env": CREDENTIAL_ENV}
    with_password = sim.url.replace("http://", f"http://tracer:{URL_PASSWORD}@")
    apply(
        server,
        doc("Group", "rivers", costCenter="CC-RIVERS"),
        doc("User", "tess", groups=["rivers"]),
        doc(
            "Policy",
            "rivers-tier",
            assets={"models": "all"},
            targets={"groups": ["rivers"]},
        ),
        model_doc("t-chat", sim.url, deployment=credential),
        model_doc("t-stream", sim.url, deployment=credential),
        model_doc("t-text", sim.url, deployment=credential),
        model_doc("t-embed", sim.url, kind="embedding", deployment=credential),
        model_doc("t-broken", sim.url, upstream="x:fail-500", deployment=credential),
        model_doc("t-userinfo", with_password),
    )
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def key(traced: Server) -> str:
    created: str = create_key(traced, name="traces", owner="user:tess")["key"]
    return created


def calls(server: Server, key: str) -> dict[str, str]:
    """One call of each kind; the request id of each, by model."""
    ids: dict[str, str] = {}
    with openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as sdk:
        chat = sdk.chat.completions.with_raw_response.create(model="t-chat", messages=HELLO)
        ids["t-chat"] = chat.headers["x-request-id"]
        stream = sdk.chat.completions.with_raw_response.create(
            model="t-stream", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        ids["t-stream"] = stream.headers["x-request-id"]
        assert list(stream.parse())
        text = sdk.completions.with_raw_response.create(model="t-text", prompt="Once upon a time")
        ids["t-text"] = text.headers["x-request-id"]
        embed = sdk.embeddings.with_raw_response.create(model="t-embed", input=["a river", "a lake"])
        ids["t-embed"] = embed.headers["x-request-id"]
        userinfo = sdk.chat.completions.with_raw_response.create(model="t-userinfo", messages=HELLO)
        ids["t-userinfo"] = userinfo.headers["x-request-id"]
        with pytest.raises(openai.APIStatusError) as failed:
            sdk.chat.completions.create(model="t-broken", messages=HELLO)
        assert failed.value.status_code == 502
        ids["t-broken"] = failed.value.response.headers["x-request-id"]
    return ids


@pytest.fixture(scope="module")
def made(traced: Server, key: str, receiver: Receiver) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """The calls' request ids, and their usage events by request id once all are stored and traced."""
    ids = calls(traced, key)
    wanted = set(ids.values())
    wait_for(lambda: wanted <= receiver.by_request().keys(), timeout=15)
    events = wait_for(
        lambda: (
            (found := {e["request_id"]: e for e in usage_events(traced)}) and wanted <= found.keys() and found
        )
    )
    return ids, events


def test_one_span_per_call_with_genai_attributes(
    made: tuple[dict[str, str], dict[str, dict[str, Any]]], receiver: Receiver, key: str, sim: Sim
) -> None:
    ids, events = made
    spans = receiver.by_request()
    assert len([s for s in receiver.spans if s.attributes["headwater.request_id"] in ids.values()]) == len(
        ids
    )
    sim_port = int(sim.url.split(":")[2].split("/")[0])
    operations = {
        "t-chat": "chat",
        "t-stream": "chat",
        "t-text": "text_completion",
        "t-embed": "embeddings",
        "t-userinfo": "chat",
        "t-broken": "chat",
    }
    for model, request_id in ids.items():
        received, event = spans[request_id], events[request_id]
        span, attributes = received.span, received.attributes
        assert span.name == f"{operations[model]} {model}"
        assert span.kind == Span.SpanKind.SPAN_KIND_CLIENT
        assert span.parent_span_id == b""
        assert received.scope == "headwater"
        assert received.resource["service.name"] == "headwater-test"
        expected = {
            "gen_ai.operation.name": operations[model],
            "gen_ai.request.model": model,
            "gen_ai.provider.name": "openai",
            "gen_ai.usage.input_tokens": event["prompt_tokens"],
            "gen_ai.usage.output_tokens": event["completion_tokens"],
            "server.address": "127.0.0.1",
            "server.port": sim_port,
            "headwater.request_id": request_id,
            "headwater.key_id": event["key_id"],
            "headwater.principal": "user:tess",
            "headwater.deployment": event["deployment"],
            "headwater.status": event["status"],
            "headwater.http_status": event["http_status"],
            "headwater.currency": "USD",
            "headwater.estimated": event["estimated"],
            "headwater.groups": ["rivers"],
            "headwater.cost_center": "CC-RIVERS",
            "headwater.policy": "rivers-tier",
        }
        assert {name: attributes.get(name) for name in expected} == expected, model
        assert attributes["headwater.cost"] == pytest.approx(float(event["cost"]))
        if model == "t-embed":
            assert "gen_ai.request.stream" not in attributes
        else:
            assert attributes["gen_ai.request.stream"] is (model == "t-stream")
        # the span is the call: it ends when the answer did and lasts its latency
        duration_ms = (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6
        assert duration_ms == pytest.approx(event["latency_ms"], abs=0.002)
        ended = span.end_time_unix_nano / 1e9
        assert ended == pytest.approx(datetime.fromisoformat(event["time"]).timestamp(), abs=0.002)
        assert abs(ended - time.time()) < 120


def test_streamed_call_has_time_to_first_chunk(
    made: tuple[dict[str, str], dict[str, dict[str, Any]]], receiver: Receiver
) -> None:
    ids, events = made
    spans = receiver.by_request()
    streamed = spans[ids["t-stream"]].attributes
    ttft_ms = events[ids["t-stream"]]["ttft_ms"]
    assert ttft_ms is not None
    assert streamed["gen_ai.response.time_to_first_chunk"] == pytest.approx(ttft_ms / 1000.0, abs=2e-6)
    assert streamed["gen_ai.usage.output_tokens"] > 0
    for model in ("t-chat", "t-text", "t-embed"):
        assert "gen_ai.response.time_to_first_chunk" not in spans[ids[model]].attributes


def test_failed_call_is_an_error_span(
    made: tuple[dict[str, str], dict[str, dict[str, Any]]], receiver: Receiver
) -> None:
    ids, events = made
    broken = receiver.by_request()[ids["t-broken"]]
    assert events[ids["t-broken"]]["status"] == "error"
    assert broken.span.status.code == Status.StatusCode.STATUS_CODE_ERROR
    assert broken.attributes["error.type"] == "bad_gateway"
    assert broken.attributes["headwater.http_status"] == 502
    for model in ("t-chat", "t-stream", "t-text", "t-embed", "t-userinfo"):
        fine = receiver.by_request()[ids[model]]
        assert fine.span.status.code == Status.StatusCode.STATUS_CODE_UNSET
        assert "error.type" not in fine.attributes


def test_no_secret_reaches_the_collector(
    made: tuple[dict[str, str], dict[str, dict[str, Any]]], receiver: Receiver, key: str, traced: Server
) -> None:
    with receiver.lock:
        bodies, paths = list(receiver.bodies), list(receiver.paths)
    assert bodies and set(paths) == {"/v1/traces"}
    for secret in (key, traced.token, UPSTREAM_SECRET, URL_PASSWORD, "tracer:"):
        assert not any(secret.encode() in body for body in bodies), secret
    assert not any(b"Bearer" in body or b"authorization" in body.lower() for body in bodies)


def test_spans_buffered_at_shutdown_are_flushed(tmp_path: Path, receiver: Receiver, sim: Sim) -> None:
    """The last calls' spans reach the collector when the server stops, before the exporter's period."""
    with database("sqlite", tmp_path) as url:
        server = serve(url, receiver, OTEL_BSP_SCHEDULE_DELAY="600000")
        try:
            apply(server, model_doc("t-last", sim.url))
            secret = create_key(server, name="last")["key"]
            with openai.OpenAI(base_url=server.v1, api_key=secret, max_retries=0) as sdk:
                answer = sdk.chat.completions.with_raw_response.create(model="t-last", messages=HELLO)
            request_id = answer.headers["x-request-id"]
            time.sleep(1.5)  # past the sink's period: in the processor's queue, not exported yet
            assert request_id not in receiver.by_request()
        finally:
            stop(server.process)
        assert server.process.returncode in GRACEFUL
        assert receiver.by_request()[request_id].span.name == "chat t-last"


def test_a_collector_that_hangs_never_holds_up_calls_or_shutdown(tmp_path: Path, sim: Sim) -> None:
    """A collector that takes connections and never answers: calls go on, the processor's queue
    fills (one span here) and drops the rest, warning once (not once per span), and the stop waits
    at most the sink's 5 s for the collector (the exporter alone would wait its 10 s timeout)."""
    with socket.socket() as hanging, database("sqlite", tmp_path) as url:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(64)  # connections complete in the backlog; nothing ever reads or answers
        server = serve(
            url,
            Receiver(f"http://127.0.0.1:{hanging.getsockname()[1]}"),
            OTEL_BSP_MAX_QUEUE_SIZE="1",
            OTEL_BSP_MAX_EXPORT_BATCH_SIZE="1",
        )
        try:
            apply(server, model_doc("t-lost", sim.url))
            secret = create_key(server, name="lost")["key"]
            with openai.OpenAI(base_url=server.v1, api_key=secret, max_retries=0) as sdk:
                for _ in range(10):
                    began = time.monotonic()
                    sdk.chat.completions.create(model="t-lost", messages=HELLO)
                    assert time.monotonic() - began < 2
            wait_for(lambda: len(usage_events(server, model="t-lost")) == 10)
            time.sleep(1.5)  # the spans are made and the exporter waits for an answer
        except BaseException:
            stop(server.process)
            raise
        began = time.monotonic()
        stop(server.process)
        assert server.process.returncode in GRACEFUL
        assert time.monotonic() - began < 8
        printed = output(server.process)
        assert 1 <= printed.count("Queue full") <= 2, printed  # 8 spans dropped: not a line each
        assert "the last spans may be lost" in printed


def test_off_by_default_no_span_even_with_standard_otel_variables(
    tmp_path: Path, receiver: Receiver, sim: Sim
) -> None:
    """Without HEADWATER_OTEL_ENDPOINT nothing is exported, whatever OTEL_* says."""
    before = len(receiver.bodies)
    with database("sqlite", tmp_path) as url:
        server = start_server(
            url,
            extra_env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_BSP_SCHEDULE_DELAY": "100",
            },
        )
        try:
            apply(server, model_doc("t-quiet", sim.url))
            secret = create_key(server, name="quiet")["key"]
            with openai.OpenAI(base_url=server.v1, api_key=secret, max_retries=0) as sdk:
                sdk.chat.completions.create(model="t-quiet", messages=HELLO)
                sdk.models.list()
            wait_for(lambda: usage_events(server, model="t-quiet"))
            time.sleep(1.5)
        finally:
            stop(server.process)
    assert len(receiver.bodies) == before


SDK_LOADED = """
import sys
from headwater.main import create_app
from headwater.settings import Settings
app = create_app(Settings(database_url="sqlite+aiosqlite:///{db}", otel_endpoint="{endpoint}"))
exporter = any(m.startswith("opentelemetry.exporter") for m in sys.modules)
print(app.traces is not None, "opentelemetry.sdk.trace" in sys.modules, exporter)
"""


@pytest.mark.parametrize(
    ("endpoint", "printed"), [("", "False False False"), ("http://127.0.0.1:4318", "True True True")]
)
def test_the_sdk_is_imported_only_when_traces_are_on(tmp_path: Path, endpoint: str, printed: str) -> None:
    """Off: no sink, and neither the SDK's tracing nor the OTLP exporter imported. (Other libraries
    load parts of OpenTelemetry on their own: FastAPI its API, redis-py the SDK's metrics.)"""
    code = SDK_LOADED.format(db=tmp_path / "hw.db", endpoint=endpoint)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == printed


@pytest.mark.parametrize("endpoint", ["collector:4318", "ftp://collector", "http://", "http://host:99999"])
def test_a_bad_endpoint_stops_the_start(tmp_path: Path, endpoint: str) -> None:
    done = cli(
        "serve",
        "--port",
        str(free_port()),
        env={"HEADWATER_OTEL_ENDPOINT": endpoint, "HEADWATER_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode != 0
    assert "HEADWATER_OTEL_ENDPOINT" in done.stdout + done.stderr
