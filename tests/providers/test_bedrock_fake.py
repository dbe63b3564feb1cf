"""Bedrock calls signed by the gateway's code, checked by a fake that verifies SigV4 as AWS does.

The fake itself is checked against botocore's own client (its serializer, signer and event-stream
parser): what the real SDK sends it accepts, and what it answers the real SDK reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import aiohttp
import botocore.session  # type: ignore[import-untyped]
import httpx
import pytest
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError, EventStreamError  # type: ignore[import-untyped]
from yarl import URL

from headwater.gateway.providers import bedrock_auth
from headwater.gateway.wire.bedrock import (
    ConverseStreamDecoder,
    error_fields,
    error_status,
    request_from_chat,
)
from tests.providers.fakes.bedrock import BAD_SIGNATURE, STREAM_THROTTLED, FakeBedrock

CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
PROFILE = (
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0"
)
CHAT = {"model": "claude", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock() as server:
        yield server


def call(
    fake: FakeBedrock,
    *,
    model: str = CLAUDE,
    stream: bool = False,
    credential: str | None = None,
    region: str | None = None,
    body: bytes | None = None,
    sent: bytes | None = None,
    timeout: float = 10.0,
) -> httpx.Response:
    """A Converse call as the gateway makes it: translated body, bedrock_auth's URL and headers."""
    body = body if body is not None else json.dumps(request_from_chat(CHAT, 256)).encode()
    url = bedrock_auth.url(fake.base_url, model, stream)
    headers = bedrock_auth.sign("POST", url, body, region or fake.region, credential or fake.credential)
    return httpx.post(url, content=sent if sent is not None else body, headers=headers, timeout=timeout)


def decoded(raw: bytes) -> tuple[str, ConverseStreamDecoder]:
    decoder = ConverseStreamDecoder(1 << 20, "claude")
    chunks = decoder.feed(raw)
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]), decoder


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    fields = error_fields(response.content, response.headers.get("x-amzn-errortype"))
    assert fields is not None, response.text
    return response.status_code, fields[1], fields[0]


@pytest.mark.parametrize("model", [CLAUDE, PROFILE, "amazon.nova-lite-v1:0"])
def test_signed_calls_are_accepted(fake: FakeBedrock, model: str) -> None:
    response = call(fake, model=model)
    assert response.status_code == 200, response.text
    assert response.json()["output"]["message"]["content"] == [{"text": "Hello! How can I help you today?"}]
    assert fake.model_ids() == [model]  # the id travelled whole, ':' and '/' quoted
    seen = fake.requests[-1]
    assert seen.path.endswith("/converse") and "%3A" in seen.path
    assert seen.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={fake.access_key_id}/")
    assert fake.secret_access_key not in json.dumps(seen.headers)


def test_a_signed_stream(fake: FakeBedrock) -> None:
    response = call(fake, stream=True)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    text, decoder = decoded(response.content)
    assert text == "Hello! How can I help you today?"
    assert decoder.failure is None
    assert decoder.done and decoder.usage == {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}


def test_temporary_credentials_carry_their_session_token() -> None:
    with FakeBedrock(session_token="FwoGZXIvYXdzEJr//////////wEaDHdVb3EXAMPLE+TOKEN=") as fake:
        assert call(fake).status_code == 200
        assert fake.requests[-1].headers["x-amz-security-token"] == fake.session_token
        without = f"{fake.access_key_id}:{fake.secret_access_key}"
        assert refusal(call(fake, credential=without))[:2] == (403, "UnrecognizedClientException")


def test_a_bedrock_api_key_is_sent_as_a_bearer_token(fake: FakeBedrock) -> None:
    assert call(fake, credential=fake.api_key).status_code == 200
    assert fake.requests[-1].headers["authorization"] == f"Bearer {fake.api_key}"
    assert "x-amz-date" not in fake.requests[-1].headers
    assert refusal(call(fake, credential="ABSK" + "x" * 40))[:2] == (403, "UnrecognizedClientException")


def test_a_wrong_secret_is_refused(fake: FakeBedrock) -> None:
    wrong = f"{fake.access_key_id}:{fake.secret_access_key[:-4]}AAAA"
    status, kind, message = refusal(call(fake, credential=wrong))
    assert (status, kind, message) == (403, "InvalidSignatureException", BAD_SIGNATURE)
    assert error_status(kind, status) == 403


def test_an_unknown_key_id_is_refused(fake: FakeBedrock) -> None:
    other = "AKIA" + f"AAAAAAAAAAAAAAAA:{fake.secret_access_key}"
    assert refusal(call(fake, credential=other))[:2] == (403, "UnrecognizedClientException")


def test_a_signature_for_another_region_is_refused(fake: FakeBedrock) -> None:
    status, kind, message = refusal(call(fake, region="eu-west-1"))
    assert (status, kind) == (403, "InvalidSignatureException") and "eu-west-1" in message


def test_a_body_changed_after_signing_is_refused(fake: FakeBedrock) -> None:
    body = json.dumps(request_from_chat(CHAT, 256)).encode()
    assert refusal(call(fake, body=body, sent=body.replace(b"Hi", b"Yo")))[:2] == (
        403,
        "InvalidSignatureException",
    )


def test_no_credential_is_refused(fake: FakeBedrock) -> None:
    response = httpx.post(bedrock_auth.url(fake.base_url, CLAUDE, False), content=b"{}")
    assert refusal(response) == (403, "MissingAuthenticationTokenException", "Missing Authentication Token")


async def test_aiohttp_must_send_the_url_as_signed(fake: FakeBedrock) -> None:
    body = json.dumps(request_from_chat(CHAT, 256)).encode()
    url = bedrock_auth.url(fake.base_url, CLAUDE, True)
    headers = bedrock_auth.sign("POST", url, body, fake.region, fake.credential)
    async with aiohttp.ClientSession() as session:
        async with session.post(URL(url, encoded=True), data=body, headers=headers) as response:
            assert response.status == 200
            text, decoder = decoded(await response.read())
        assert text == "Hello! How can I help you today?" and decoder.done
        # yarl's default unquotes %3A: the path no longer matches the signature, as on AWS
        async with session.post(URL(url), data=body, headers=headers) as response:
            assert response.status == 403
            assert response.headers["x-amzn-errortype"].startswith("InvalidSignatureException")


def test_sign_refuses_a_region_that_is_not_one_without_naming_the_credential(fake: FakeBedrock) -> None:
    with pytest.raises(ValueError, match="AWS region") as caught:
        bedrock_auth.sign("POST", fake.base_url, b"{}", "us east 1", fake.credential)
    assert fake.secret_access_key not in str(caught.value)


def test_signing_logs_no_credential(fake: FakeBedrock, caplog: pytest.LogCaptureFixture) -> None:
    with FakeBedrock(session_token="SESSIONTOKENVALUE0123456789") as temporary:
        caplog.set_level(logging.DEBUG)
        assert call(temporary).status_code == 200
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "SESSIONTOKENVALUE0123456789" not in logged
        assert temporary.secret_access_key not in logged


def test_bedrock_rejections_in_its_own_words(fake: FakeBedrock) -> None:
    body = {"messages": [{"role": "assistant", "content": [{"text": "I start"}]}]}
    status, kind, message = refusal(call(fake, body=json.dumps(body).encode()))
    assert (status, kind) == (400, "ValidationException") and message.startswith("A conversation must start")
    blank = {"messages": [{"role": "user", "content": [{"text": " "}]}]}
    assert "is blank" in refusal(call(fake, body=json.dumps(blank).encode()))[2]


@pytest.mark.parametrize(
    ("scenario", "status", "kind", "client_status"),
    [
        ("error:400", 400, "ValidationException", 400),
        ("error:401", 403, "UnrecognizedClientException", 403),
        ("error:403", 403, "AccessDeniedException", 403),
        ("error:408", 408, "ModelTimeoutException", 504),
        ("error:424", 424, "ModelErrorException", 502),
        ("error:429", 429, "ThrottlingException", 429),
        ("error:500", 500, "InternalServerException", 500),
        ("error:503", 503, "ServiceUnavailableException", 503),
        ("stream-error", 429, "ThrottlingException", 429),  # a call that does not stream
    ],
)
def test_error_scenarios(
    fake: FakeBedrock, scenario: str, status: int, kind: str, client_status: int
) -> None:
    fake.next(scenario)
    got_status, got_kind, message = refusal(call(fake))
    assert (got_status, got_kind) == (status, kind) and message
    assert error_status(got_kind, got_status) == client_status


def test_a_throttling_exception_mid_stream(fake: FakeBedrock) -> None:
    fake.next("stream-error")
    response = call(fake, stream=True)
    assert response.status_code == 200
    text, decoder = decoded(response.content)
    assert text == "Hello"  # the first frames (messageStart, the first delta) came before it
    assert decoder.failure == (f"Bedrock: {STREAM_THROTTLED}", "rate_limit_exceeded")


def test_hang_and_stall_time_out(fake: FakeBedrock) -> None:
    fake.next("hang")
    with pytest.raises(httpx.ReadTimeout):
        call(fake, timeout=0.3)
    fake.next("stall")
    url = bedrock_auth.url(fake.base_url, CLAUDE, True)
    body = json.dumps(request_from_chat(CHAT, 256)).encode()
    headers = bedrock_auth.sign("POST", url, body, fake.region, fake.credential)
    decoder = ConverseStreamDecoder(1 << 20, "claude")
    with httpx.stream("POST", url, content=body, headers=headers, timeout=0.5) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            for piece in response.iter_raw():
                decoder.feed(piece)
    assert not decoder.done and decoder.failure is None
    assert fake.wait_cancelled(2)


def test_disconnect_cuts_the_stream(fake: FakeBedrock) -> None:
    fake.next("disconnect")
    with pytest.raises(httpx.RemoteProtocolError):
        call(fake, stream=True)


def test_the_url() -> None:
    assert bedrock_auth.url("https://bedrock-runtime.eu-west-3.amazonaws.com/", CLAUDE, False) == (
        "https://bedrock-runtime.eu-west-3.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    )
    assert bedrock_auth.url("http://h", "a/b c", True) == "http://h/model/a%2Fb%20c/converse-stream"
    assert bedrock_auth.is_sigv4("AKIA" + "IOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert bedrock_auth.is_sigv4("ASIAIOSFODNN7EXAMPLE:secret:token")
    assert not bedrock_auth.is_sigv4("ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl")
    assert not bedrock_auth.is_sigv4("AKIA" + "IOSFODNN7EXAMPLE:")


# ---- the fake against the real SDK ---------------------------------------------------------------------
def sdk(fake: FakeBedrock) -> Any:
    return botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name=fake.region,
        endpoint_url=fake.base_url,
        aws_access_key_id=fake.access_key_id,
        aws_secret_access_key=fake.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


MESSAGES = [{"role": "user", "content": [{"text": "What is the weather in Paris?"}]}]
TOOLS = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]}


def test_botocore_reads_the_fakes_answers(fake: FakeBedrock) -> None:
    client = sdk(fake)
    answer = client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert answer["output"]["message"]["content"] == [{"text": "Hello! How can I help you today?"}]
    assert answer["usage"]["totalTokens"] == 30
    fake.next("tool")
    answer = client.converse(modelId=PROFILE, messages=MESSAGES, toolConfig=TOOLS)
    assert answer["stopReason"] == "tool_use"
    assert answer["output"]["message"]["content"][1]["toolUse"]["input"] == {"location": "Paris"}
    fake.next("tool")
    events = list(client.converse_stream(modelId=CLAUDE, messages=MESSAGES, toolConfig=TOOLS)["stream"])
    assert [next(iter(e)) for e in events] == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockStop",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert events[3]["contentBlockStart"]["start"]["toolUse"]["name"] == "get_weather"
    assert fake.model_ids() == [CLAUDE, PROFILE, CLAUDE]


def test_botocore_raises_the_fakes_errors(fake: FakeBedrock) -> None:
    client = sdk(fake)
    fake.next("error:429")
    with pytest.raises(client.exceptions.ThrottlingException):
        client.converse(modelId=CLAUDE, messages=MESSAGES)
    fake.next("stream-error")
    with pytest.raises(EventStreamError, match="throttlingException"):
        list(client.converse_stream(modelId=CLAUDE, messages=MESSAGES)["stream"])
    wrong = botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name=fake.region,
        endpoint_url=fake.base_url,
        aws_access_key_id=fake.access_key_id,
        aws_secret_access_key="not-the-secret",
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError, match="InvalidSignatureException"):
        wrong.converse(modelId=CLAUDE, messages=MESSAGES)
