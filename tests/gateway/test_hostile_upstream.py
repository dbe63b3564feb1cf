"""The gateway against a hostile upstream (issue 9, items 13-17).

A real ``headwater serve`` in front of ``tests.gateway.hostile``, with each upstream client: responses
too large, streams without separators or that never end, redirects, upstreams that echo credentials
or refuse them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.gateway.hostile import SECRET_LOOKALIKE, Hostile, hostile_upstream
from tests.support import (
    Server,
    apply,
    create_key,
    database,
    model_doc,
    start_server,
    stop,
    usage_events,
    wait_for,
)

pytestmark = pytest.mark.e2e

CREDENTIAL = "hostile-Credential-4f9Zq81"
CREDENTIAL_ENV = "HEADWATER_UPSTREAM_HOSTILE_KEY"
MAX_RESPONSE = 1024 * 1024
MAX_EVENT = 1024 * 1024  # the default
#: public name → (the hostile behaviour, deployment options)
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "plain": ("plain", {}),
    "big-declared": ("huge-declared", {}),
    "big": ("huge-undeclared", {}),
    "big-error": ("huge-error", {}),
    "no-separator": ("sse-no-separator", {}),
    "drip": ("sse-drip", {"deadline": 1.5}),
    "late-headers": ("slow-headers", {"deadline": 1}),
    "late-body": ("slow-body", {"deadline": 1}),
    "redirecting": ("redirect", {}),
    "echoing": ("echo-400", {}),
    "echoing-text": ("echo-text-400", {}),
    "echoing-500": ("echo-500", {}),
    "refused-401": ("auth-401", {}),
    "refused-403": ("auth-403", {}),
    "deep": ("nested", {}),
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[Hostile]:
    with hostile_upstream() as started:
        yield started


@pytest.fixture(scope="module", params=["auto", "aiohttp"])
def server(
    tmp_path_factory: pytest.TempPathFactory, upstream: Hostile, request: pytest.FixtureRequest
) -> Iterator[Server]:
    """Both upstream clients: Headwater's own (``auto``, for this ``http://`` upstream) and aiohttp's
    (``https://`` upstreams, or everything under ``HEADWATER_UPSTREAM_CLIENT=aiohttp``)."""
    with database("sqlite", tmp_path_factory.mktemp("db")) as url:
        started = start_server(
            url,
            extra_env={
                "HEADWATER_UPSTREAM_CLIENT": request.param,
                "HEADWATER_MAX_RESPONSE_BYTES": str(MAX_RESPONSE),
                "HEADWATER_LOG_LEVEL": "debug",
                CREDENTIAL_ENV: CREDENTIAL,
            },
        )
        documents = [
            model_doc(
                name,
                upstream.url,
                upstream=behaviour,
                deployment={"credential_env": CREDENTIAL_ENV, **options},
            )
            for name, (behaviour, options) in MODELS.items()
        ]
        apply(started, *documents)
        yield started
        stop(started.process)


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    return str(create_key(server, name="hostile")["key"])


@pytest.fixture
def http(server: Server, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.v1, headers={"Authorization": f"Bearer {key}"}, timeout=20) as client:
        yield client


def chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code
    return dict(body["error"])


def stream_lines(http: httpx.Client, model: str) -> tuple[list[str], float, str]:
    """The ``data:`` lines of a streamed call, the seconds it took, and its request id."""
    started = time.monotonic()
    with http.stream("POST", "/chat/completions", json=chat(model, stream=True)) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
        return lines, time.monotonic() - started, response.headers["x-request-id"]


# ---- 13: response size --------------------------------------------------------------------------
def test_declared_response_over_the_cap_is_refused_unread(http: httpx.Client, upstream: Hostile) -> None:
    error = error_of(
        http.post("/chat/completions", json=chat("big-declared")), 502, "upstream_response_too_large"
    )
    assert str(MAX_RESPONSE) in error["message"]
    seen = upstream.requests_for("huge-declared")[-1]
    wait_for(lambda: seen.closed_after_s is not None, timeout=5)  # hung up at once, nothing drained


@pytest.mark.parametrize("model", ["big", "big-error"])
def test_undeclared_response_over_the_cap_is_counted_while_read(http: httpx.Client, model: str) -> None:
    error_of(http.post("/chat/completions", json=chat(model)), 502, "upstream_response_too_large")


def test_nested_upstream_response_is_relayed_with_the_public_name(http: httpx.Client) -> None:
    response = http.post("/chat/completions", json=chat("deep"))  # 300 levels: more than orjson writes
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "deep"
    assert '[[[[["bottom"]]]]]' in response.text


# ---- 14: stream events --------------------------------------------------------------------------
def test_stream_without_separators_is_cut_while_others_are_served(
    http: httpx.Client, upstream: Hostile, key: str, server: Server
) -> None:
    served: list[float] = []

    def meanwhile() -> None:  # other calls, on other connections, while the bad stream flows
        with httpx.Client(
            base_url=server.v1, headers={"Authorization": f"Bearer {key}"}, timeout=20
        ) as other:
            while len(served) < 5:
                started = time.monotonic()
                assert other.post("/chat/completions", json=chat("plain")).status_code == 200
                served.append(time.monotonic() - started)

    others = threading.Thread(target=meanwhile)
    others.start()
    lines, elapsed, _ = stream_lines(http, "no-separator")
    others.join(30)
    assert len(lines) == 1 and '"upstream_event_too_large"' in lines[0]  # nothing of it, then the end
    assert str(MAX_EVENT) in lines[0]
    assert elapsed < 10
    seen = upstream.requests_for("sse-no-separator")[-1]
    wait_for(lambda: seen.closed_after_s is not None, timeout=5)  # the upstream was hung up on
    assert len(served) == 5 and max(served) < 5


# ---- 15: scrubbing ------------------------------------------------------------------------------
def assert_scrubbed(text: str, upstream: Hostile, behaviour: str) -> None:
    for leaked in (CREDENTIAL, SECRET_LOOKALIKE, upstream.url, "127.0.0.1", behaviour):
        assert leaked not in text


@pytest.mark.parametrize(("model", "behaviour"), [("echoing", "echo-400"), ("echoing-text", "echo-text-400")])
def test_relayed_upstream_4xx_is_scrubbed(
    http: httpx.Client, upstream: Hostile, model: str, behaviour: str
) -> None:
    response = http.post("/chat/completions", json=chat(model))
    assert response.status_code == 400
    assert set(response.json()) == {"error"}  # only OpenAI's error object, nothing else it sent
    assert_scrubbed(response.text, upstream, behaviour)
    message = response.json()["error"]["message"]
    assert "Authorization: Bearer [redacted]" in message and f"for model {model};" in message
    assert upstream.requests_for(behaviour)[-1].headers["authorization"] == f"Bearer {CREDENTIAL}"


def test_upstream_5xx_detail_is_scrubbed(http: httpx.Client, upstream: Hostile) -> None:
    error = error_of(http.post("/chat/completions", json=chat("echoing-500")), 502, "bad_upstream_response")
    assert_scrubbed(error["message"], upstream, "echo-500")
    assert "echoing-500/0" in error["message"] and "HTTP 500" in error["message"]


@pytest.mark.parametrize("status", [401, 403])
def test_upstream_auth_failure_is_the_gateways_502(server: Server, key: str, status: int) -> None:
    with (
        openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as sdk,
        pytest.raises(openai.APIStatusError) as caught,
    ):
        sdk.chat.completions.create(model=f"refused-{status}", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502  # not the caller's own 401/403
    error = caught.value.response.json()["error"]
    assert error["code"] == "upstream_auth_failed"
    assert f"refused-{status}/0" in error["message"] and f"HTTP {status}" in error["message"]
    assert "Incorrect API key" not in error["message"] and CREDENTIAL not in caught.value.response.text


# ---- 16: redirects ------------------------------------------------------------------------------
def test_redirect_is_never_followed(http: httpx.Client, upstream: Hostile) -> None:
    error_of(http.post("/chat/completions", json=chat("redirecting")), 502, "upstream_redirect")
    assert upstream.requests_for("redirect"), "the upstream got the call"
    assert not [seen for seen in upstream.seen if seen.path.startswith("/v1/target")]


# ---- 17: deadlines ------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["late-headers", "late-body"])
def test_deadline_before_the_response_starts_is_504(http: httpx.Client, model: str) -> None:
    started = time.monotonic()
    error = error_of(http.post("/chat/completions", json=chat(model)), 504, "upstream_deadline_exceeded")
    assert 1 <= time.monotonic() - started < 8
    assert f"{model}/0" in error["message"]


def test_dripping_stream_is_cut_at_its_deadline(server: Server, http: httpx.Client) -> None:
    lines, elapsed, request_id = stream_lines(http, "drip")
    assert 1.5 <= elapsed < 8
    assert len(lines) > 2 and '"drip' in lines[0]
    assert '"upstream_deadline_exceeded"' in lines[-1]  # the terminal error event ends the body
    event = wait_for(lambda: next((e for e in usage_events(server) if e["request_id"] == request_id), None))
    assert (event["status"], event["http_status"], event["estimated"]) == ("error", 504, True)


def test_no_credential_in_logs(server: Server) -> None:
    logged = stop(server.process)  # the last test of the module: read everything the server logged
    assert "DEBUG" in logged, "the server logged at debug level, so this check means something"
    assert CREDENTIAL not in logged and SECRET_LOOKALIKE not in logged
