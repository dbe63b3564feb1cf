"""CORS (``HEADWATER_CORS_ORIGINS``) and 405 ``Allow``, against real `headwater serve` processes.

A browser app on a listed origin gets its preflights answered before any authentication, and every
response to it (errors and streams included) names its origin and exposes the request id, the
rate-limit headers and ``Retry-After``. Any other origin, and a server without the setting, gets no
CORS header at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import httpx
import openai
import pytest

from tests.support import Server, Sim, apply, create_key, database, model_doc, start_server, stop

pytestmark = pytest.mark.e2e

APP = "https://app.example.com"
DEV = "http://localhost:5173"
MESSAGES: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
PREFLIGHT_PATHS = ["/v1/chat/completions", "/v1/models", "/api/v1/keys", "/api/v1/keys/some-id"]


@pytest.fixture(scope="module")
def cors_server(tmp_path_factory: pytest.TempPathFactory, sim: Sim) -> Iterator[Server]:
    with database("sqlite", tmp_path_factory.mktemp("cors")) as url:
        started = start_server(url, extra_env={"HEADWATER_CORS_ORIGINS": f" {APP} ,{DEV}"})
        apply(started, model_doc("cors-chat", sim.url))
        yield started
        stop(started.process)


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory, sim: Sim) -> Iterator[Server]:
    with database("sqlite", tmp_path_factory.mktemp("plain")) as url:
        started = start_server(url)
        apply(started, model_doc("cors-chat", sim.url))
        yield started
        stop(started.process)


@pytest.fixture(scope="module")
def key(cors_server: Server) -> str:
    created: str = create_key(cors_server, name="browser")["key"]
    return created


def preflight(server: Server, path: str, origin: str, method: str = "POST") -> httpx.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        # what the OpenAI SDK's browser build asks for, and one header nobody allows
        "Access-Control-Request-Headers": "authorization,content-type,x-request-id,x-stainless-lang,"
        "x-stainless-retry-count,x-unknown",
    }
    return httpx.options(f"{server.url}{path}", headers=headers, timeout=10)


def cors_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.startswith("access-control-")}


def listed(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",")}


def assert_actual_cors(headers: Mapping[str, str], origin: str = APP) -> None:
    """What a browser needs to let the app read a response, and no more."""
    assert headers["access-control-allow-origin"] == origin
    assert "origin" in listed(headers["vary"])
    exposed = listed(headers["access-control-expose-headers"])
    assert {
        "x-request-id",
        "retry-after",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-tokens",
    } <= exposed
    assert "access-control-allow-credentials" not in headers


# ---- preflights ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PREFLIGHT_PATHS)
@pytest.mark.parametrize("origin", [APP, DEV])
def test_a_preflight_from_a_listed_origin_is_answered_without_credentials(
    cors_server: Server, path: str, origin: str
) -> None:
    response = preflight(cors_server, path, origin)
    assert response.status_code == 204, response.text
    assert response.headers["access-control-allow-origin"] == origin
    assert "origin" in listed(response.headers["vary"])
    methods = listed(response.headers["access-control-allow-methods"])
    assert {"get", "post"} <= methods
    assert ({"put", "patch", "delete"} <= methods) is path.startswith("/api/")
    allowed = listed(response.headers["access-control-allow-headers"])
    assert {
        "authorization",
        "content-type",
        "x-request-id",
        "openai-organization",
        "anthropic-version",
    } <= allowed
    assert {"x-stainless-lang", "x-stainless-retry-count"} <= allowed  # as the SDK asked
    assert "x-unknown" not in allowed
    assert int(response.headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("path", PREFLIGHT_PATHS)
@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.com",
        "https://app.example.com.evil.example.com",
        "http://app.example.com",  # another scheme is another origin
        "https://app.example.com:8443",
        "null",
    ],
)
def test_a_preflight_from_any_other_origin_gets_no_cors_headers(
    cors_server: Server, path: str, origin: str
) -> None:
    response = preflight(cors_server, path, origin)
    assert cors_headers(response.headers) == {}
    if path.startswith("/v1/"):  # what any OPTIONS gets: the gateway's 405, the admin gate's 401
        assert response.status_code == 405
        assert response.headers["allow"] in ("POST", "GET")
        assert response.json()["error"]["code"] == "method_not_allowed"
    else:
        assert response.status_code == 401


# ---- actual calls -------------------------------------------------------------------------------
def test_the_openai_sdk_from_a_listed_origin_can_read_the_response_headers(
    cors_server: Server, key: str
) -> None:
    with openai.OpenAI(
        base_url=cors_server.v1, api_key=key, max_retries=0, default_headers={"Origin": APP}
    ) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(model="cors-chat", messages=MESSAGES)
        assert raw.parse().choices[0].message.content
        assert_actual_cors(raw.http_response.headers)
        assert raw.headers["x-request-id"]
        models = sdk.models.with_raw_response.list()
        assert [model.id for model in models.parse().data] == ["cors-chat"]
        assert_actual_cors(models.http_response.headers)


def test_a_stream_carries_the_cors_headers(cors_server: Server, key: str) -> None:
    with (
        openai.OpenAI(
            base_url=cors_server.v1, api_key=key, max_retries=0, default_headers={"Origin": DEV}
        ) as sdk,
        sdk.chat.completions.with_streaming_response.create(
            model="cors-chat", messages=MESSAGES, stream=True
        ) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        assert_actual_cors(response.http_response.headers, DEV)
        chunks = list(response.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_an_unauthenticated_call_from_a_listed_origin_can_read_its_401(cors_server: Server) -> None:
    with (
        openai.OpenAI(
            base_url=cors_server.v1, api_key="hwk_wrong", max_retries=0, default_headers={"Origin": APP}
        ) as sdk,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        sdk.chat.completions.create(model="cors-chat", messages=MESSAGES)
    assert_actual_cors(caught.value.response.headers)


def test_a_rate_limited_call_from_a_listed_origin_can_read_its_429(cors_server: Server) -> None:
    limited = create_key(cors_server, name="limited", limits={"requests_per_minute": 1})["key"]
    with openai.OpenAI(
        base_url=cors_server.v1, api_key=limited, max_retries=0, default_headers={"Origin": APP}
    ) as sdk:
        sdk.chat.completions.create(model="cors-chat", messages=MESSAGES)
        with pytest.raises(openai.RateLimitError) as caught:
            sdk.chat.completions.create(model="cors-chat", messages=MESSAGES)
    response = caught.value.response
    assert_actual_cors(response.headers)
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-ratelimit-remaining-requests"] == "0"


def test_the_admin_api_from_a_listed_origin(cors_server: Server) -> None:
    url = f"{cors_server.url}/api/v1/keys"
    answered = httpx.get(url, headers={"Origin": APP, "Authorization": f"Bearer {cors_server.token}"})
    assert answered.status_code == 200
    assert_actual_cors(answered.headers)
    refused = httpx.get(url, headers={"Origin": APP})
    assert refused.status_code == 401
    assert_actual_cors(refused.headers)


@pytest.mark.parametrize("path", ["/v1/models", "/api/v1/keys"])
def test_other_origins_and_no_origin_get_no_cors_headers(cors_server: Server, key: str, path: str) -> None:
    token = key if path.startswith("/v1/") else cors_server.token
    for headers in ({}, {"Origin": "https://evil.example.com"}):
        response = httpx.get(
            f"{cors_server.url}{path}", headers={"Authorization": f"Bearer {token}", **headers}
        )
        assert response.status_code == 200
        assert cors_headers(response.headers) == {}
        assert "vary" not in response.headers


def test_the_probes_answer_no_cors(cors_server: Server) -> None:
    response = httpx.get(f"{cors_server.url}/healthz", headers={"Origin": APP})
    assert response.status_code == 200
    assert cors_headers(response.headers) == {}


# ---- the default: no CORS at all ----------------------------------------------------------------
@pytest.mark.parametrize(("path", "allow"), [("/v1/chat/completions", "POST"), ("/v1/models", "GET")])
def test_without_the_setting_a_gateway_preflight_is_a_405_with_allow(
    plain_server: Server, path: str, allow: str
) -> None:
    response = preflight(plain_server, path, APP)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert cors_headers(response.headers) == {}


def test_without_the_setting_nothing_carries_cors_headers(plain_server: Server) -> None:
    key = create_key(plain_server, name="plain")["key"]
    assert preflight(plain_server, "/api/v1/keys", APP).status_code == 401
    with openai.OpenAI(
        base_url=plain_server.v1, api_key=key, max_retries=0, default_headers={"Origin": APP}
    ) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(model="cors-chat", messages=MESSAGES)
    assert raw.status_code == 200
    assert cors_headers(raw.http_response.headers) == {}
    admin = httpx.get(
        f"{plain_server.url}/api/v1/keys",
        headers={"Origin": APP, "Authorization": f"Bearer {plain_server.token}"},
    )
    assert admin.status_code == 200 and cors_headers(admin.headers) == {}


# ---- 405 names what is allowed -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/chat/completions", "POST"),
        ("PUT", "/v1/embeddings", "POST"),
        ("OPTIONS", "/v1/completions", "POST"),
        ("POST", "/v1/models", "GET"),
        ("DELETE", "/v1/models/cors-chat", "GET"),
        ("POST", "/healthz", "GET, HEAD"),
        ("DELETE", "/readyz", "GET, HEAD"),
        ("PUT", "/metrics", "GET, HEAD"),
    ],
)
def test_gateway_405_carries_allow(plain_server: Server, method: str, path: str, allow: str) -> None:
    response = httpx.request(method, f"{plain_server.url}{path}", timeout=10)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_probes_answer_head(plain_server: Server) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        response = httpx.head(f"{plain_server.url}{path}", timeout=10)
        assert response.status_code == 200 and response.content == b""


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/v1/keys", "GET, POST"),  # GET and POST are two routes: both are named
        ("PUT", "/api/v1/keys/some-id", "GET, PATCH"),
        ("POST", "/api/v1/me", "GET"),
        ("DELETE", "/api/v1/openapi.json", "GET, HEAD"),
    ],
)
def test_admin_405_carries_allow(plain_server: Server, method: str, path: str, allow: str) -> None:
    headers = {"Authorization": f"Bearer {plain_server.token}"}
    response = httpx.request(method, f"{plain_server.url}{path}", headers=headers, timeout=10)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {"detail": "Method Not Allowed"}


def test_a_405_from_a_listed_origin_carries_allow_and_cors(cors_server: Server) -> None:
    response = httpx.get(f"{cors_server.v1}/chat/completions", headers={"Origin": APP}, timeout=10)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert_actual_cors(response.headers)
