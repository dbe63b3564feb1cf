"""Every gateway error, in OpenAI's shape, through real processes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.support import (
    Server,
    Sim,
    apply,
    create_key,
    database,
    free_port,
    model_doc,
    start_server,
    stop,
    usage_events,
    wait_for,
)

pytestmark = pytest.mark.e2e
CREDENTIAL = "upstream-credential-0123456789abcdef"
BODY_LIMIT = 4096


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sim: Sim) -> Iterator[Server]:
    with database("sqlite", tmp_path_factory.mktemp("db")) as url:
        started = start_server(
            url,
            extra_env={
                "HEADWATER_MAX_BODY_BYTES": str(BODY_LIMIT),
                "HEADWATER_LOG_LEVEL": "debug",
                "HEADWATER_UPSTREAM_SIM_CREDENTIAL": CREDENTIAL,
            },
        )
        dead = f"http://127.0.0.1:{free_port()}/v1"
        apply(
            started,
            model_doc("good", sim.url, deployment={"credential_env": "HEADWATER_UPSTREAM_SIM_CREDENTIAL"}),
            model_doc("other", sim.url),
            model_doc("embedder", sim.url, kind="embedding"),
            model_doc("unreachable", dead),
            model_doc("garbage", sim.url, upstream="m:garbage"),
            model_doc("crashing", sim.url, upstream="m:fail-500"),
            model_doc("slow", sim.url, upstream="m:hang", deployment={"timeout": 1}),
            model_doc("limited", sim.url, upstream="m:fail-429"),
            model_doc("rejecting", sim.url, upstream="m:fail-400"),
            model_doc("cut", sim.url, upstream="m:cut"),
            model_doc("disabled", sim.url, status="disabled"),
        )
        yield started
        stop(started.process)


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    return str(create_key(server, name="errors")["key"])


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.v1, timeout=30) as client:
        yield client


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat(model: str = "good", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def assert_error(
    response: httpx.Response, status: int, code: str | None, type_: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    if type_ is not None:
        assert body["error"]["type"] == type_
    assert response.headers.get("x-request-id")
    return dict(body["error"])


# ---- 401 ----------------------------------------------------------------------------------------
def test_missing_key(http: httpx.Client) -> None:
    assert_error(http.post("/chat/completions", json=chat()), 401, "missing_api_key", "authentication_error")


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Basic abc", "Bearer hwk_AAAAAAAAAAAA_" + "a" * 38, "Bearer"],
)
def test_wrong_key(http: httpx.Client, header: str) -> None:
    response = http.post("/chat/completions", json=chat(), headers={"Authorization": header})
    assert_error(response, 401, None, "authentication_error")


def test_key_with_valid_format_but_wrong_secret(http: httpx.Client, key: str) -> None:
    forged = key[:-8] + ("A" if key[-8] != "A" else "B") + key[-7:]
    assert_error(http.post("/chat/completions", json=chat(), headers=auth(forged)), 401, "invalid_api_key")


def test_revoked_key_is_refused_within_a_second(server: Server, http: httpx.Client) -> None:
    created = create_key(server, name="short-lived")
    assert http.post("/chat/completions", json=chat(), headers=auth(created["key"])).status_code == 200
    with server.admin() as admin:
        assert admin.post(f"/keys/{created['id']}/revoke").json()["status"] == "revoked"
    response = wait_for(
        lambda: (
            (r := http.post("/chat/completions", json=chat(), headers=auth(created["key"]))).status_code
            == 401
            and r
        ),
        timeout=1.0,
    )
    assert_error(response, 401, "key_revoked")


def test_disabled_and_expired_keys(server: Server, http: httpx.Client) -> None:
    disabled = create_key(server, name="paused")
    with server.admin() as admin:
        admin.patch(f"/keys/{disabled['id']}", json={"status": "disabled"}).raise_for_status()
        expired = create_key(server, name="old", expires_in="1s")
    wait_for(lambda: http.get("/models", headers=auth(disabled["key"])).status_code == 401, timeout=2)
    assert_error(http.get("/models", headers=auth(disabled["key"])), 401, "key_disabled")
    wait_for(lambda: http.get("/models", headers=auth(expired["key"])).status_code == 401, timeout=3)
    assert_error(http.get("/models", headers=auth(expired["key"])), 401, "key_expired")


# ---- 404 / 403 ----------------------------------------------------------------------------------
def test_unknown_model(http: httpx.Client, key: str) -> None:
    error = assert_error(
        http.post("/chat/completions", json=chat("nope"), headers=auth(key)), 404, "model_not_found"
    )
    assert error["param"] == "model"


def test_disabled_model_is_not_found_and_not_listed(http: httpx.Client, key: str) -> None:
    assert_error(
        http.post("/chat/completions", json=chat("disabled"), headers=auth(key)), 404, "model_not_found"
    )
    assert "disabled" not in {m["id"] for m in http.get("/models", headers=auth(key)).json()["data"]}


def test_unknown_model_is_checked_before_scope(server: Server, http: httpx.Client) -> None:
    scoped = create_key(server, name="scoped", models=["good"])["key"]
    assert_error(
        http.post("/chat/completions", json=chat("nope"), headers=auth(scoped)), 404, "model_not_found"
    )
    error = assert_error(
        http.post("/chat/completions", json=chat("other"), headers=auth(scoped)), 403, "model_not_allowed"
    )
    assert error["type"] == "permission_error"
    assert http.post("/chat/completions", json=chat("good"), headers=auth(scoped)).status_code == 200
    assert [m["id"] for m in http.get("/models", headers=auth(scoped)).json()["data"]] == ["good"]


def test_model_of_the_wrong_kind(http: httpx.Client, key: str) -> None:
    response = http.post("/chat/completions", json=chat("embedder"), headers=auth(key))
    assert_error(response, 400, "model_not_supported")
    response = http.post("/embeddings", json={"model": "good", "input": "x"}, headers=auth(key))
    assert_error(response, 400, "model_not_supported")


def test_unknown_path_and_method(http: httpx.Client, key: str) -> None:
    assert_error(http.post("/nothing", json={}, headers=auth(key)), 404, "unknown_url")
    assert_error(http.get("/chat/completions", headers=auth(key)), 405, "method_not_allowed")


# ---- 400 / 413 ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        (b"{not json", "invalid_json", None),
        (b"", "invalid_json", None),
        (b"[1, 2]", "invalid_json", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "missing_required_parameter", "model"),
        (b'{"model": "good"}', "missing_required_parameter", "messages"),
        (b'{"model": 7, "messages": []}', "invalid_type", "model"),
        (b'{"model": "good", "messages": "hello"}', "invalid_type", "messages"),
        (b'{"model": "good", "messages": [{"content": "x"}]}', "invalid_type", "messages[0]"),
        (
            b'{"model": "good", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}',
            "invalid_type",
            "stream",
        ),
        (
            b'{"model": "good", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}',
            "invalid_type",
            "max_tokens",
        ),
    ],
)
def test_bad_request_bodies(http: httpx.Client, key: str, body: bytes, code: str, param: str | None) -> None:
    headers = {**auth(key), "Content-Type": "application/json"}
    error = assert_error(
        http.post("/chat/completions", content=body, headers=headers), 400, code, "invalid_request_error"
    )
    assert error["param"] == param


def test_body_too_large(http: httpx.Client, key: str) -> None:
    big = chat(padding="x" * (BODY_LIMIT + 10))
    assert_error(http.post("/chat/completions", json=big, headers=auth(key)), 413, "request_too_large")

    def chunks() -> Iterator[bytes]:  # no content-length: the limit holds while streaming the body
        yield b'{"model": "good", "padding": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    assert_error(
        http.post("/chat/completions", content=chunks(), headers=auth(key)), 413, "request_too_large"
    )


# ---- upstream failures --------------------------------------------------------------------------
def test_upstream_unreachable(http: httpx.Client, key: str) -> None:
    assert_error(
        http.post("/chat/completions", json=chat("unreachable"), headers=auth(key)),
        502,
        "upstream_unreachable",
    )


@pytest.mark.parametrize("model", ["garbage", "crashing"])
def test_upstream_broken(http: httpx.Client, key: str, model: str) -> None:
    assert_error(
        http.post("/chat/completions", json=chat(model), headers=auth(key)), 502, "bad_upstream_response"
    )


def test_upstream_timeout(http: httpx.Client, key: str) -> None:
    assert_error(
        http.post("/chat/completions", json=chat("slow"), headers=auth(key)), 504, "upstream_timeout"
    )


def test_upstream_429_passes_through_with_retry_after(server: Server, key: str) -> None:
    with (
        openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as sdk,
        pytest.raises(openai.RateLimitError) as caught,
    ):
        sdk.chat.completions.create(model="limited", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.status_code == 429


def test_upstream_4xx_passes_through(http: httpx.Client, key: str) -> None:
    assert_error(http.post("/chat/completions", json=chat("rejecting"), headers=auth(key)), 400, None)


def test_stream_broken_midway_ends_with_an_error_event(server: Server, key: str) -> None:
    with openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as sdk:
        stream = sdk.chat.completions.create(
            model="cut", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        received = []
        with pytest.raises(openai.APIError):
            for chunk in stream:
                received.append(chunk)
    assert received, "the chunks before the break were forwarded"


def test_failed_calls_are_accounted(server: Server, http: httpx.Client, key: str) -> None:
    response = http.post("/chat/completions", json=chat("crashing"), headers=auth(key))
    request_id = response.headers["x-request-id"]
    event = wait_for(lambda: next((e for e in usage_events(server) if e["request_id"] == request_id), None))
    assert event["status"] == "error" and event["http_status"] == 502 and event["completion_tokens"] == 0


# ---- request ids and secrets --------------------------------------------------------------------
def test_request_id_is_echoed_or_generated(http: httpx.Client, key: str) -> None:
    mine = http.post("/chat/completions", json=chat(), headers={**auth(key), "X-Request-Id": "trace-abc-123"})
    assert mine.headers["x-request-id"] == "trace-abc-123"
    generated = http.post("/chat/completions", json=chat("nope"), headers=auth(key))
    assert len(generated.headers["x-request-id"]) == 32
    assert http.get("/models").headers["x-request-id"]
    assert http.get("/../healthz").headers["x-request-id"]


def test_no_secret_in_responses_or_logs(server: Server, http: httpx.Client, key: str) -> None:
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    bodies = [
        http.post("/chat/completions", json=chat(), headers=auth(key)).text,
        http.post("/chat/completions", json=chat("nope"), headers=auth(key)).text,
        http.post("/chat/completions", json=chat("crashing"), headers=auth(key)).text,
        http.post("/chat/completions", json=chat(), headers=auth(key[:-1] + "x")).text,
    ]
    with server.admin() as admin:
        bodies.append(admin.get("/keys").text)
        bodies.append(admin.get("/models").text)
    for body in bodies:
        for secret in (key, key_hash, CREDENTIAL, server.token):
            assert secret not in body
    logged = stop(server.process)  # the last test of the module: read everything the server logged
    assert "DEBUG" in logged, "the server logged at debug level, so this check means something"
    for secret in (key, key_hash, CREDENTIAL, server.token):
        assert secret not in logged
